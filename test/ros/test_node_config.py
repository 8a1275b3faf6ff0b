"""Parameter declaration and validation of the node (in-process rclpy node, no traffic)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields

import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.parameter import Parameter

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.validated_config import param, param_spec, validate
from fpose_ros.evaluation.tables import flatten_keys
from fpose_ros.ros.node_config import EngineSection, NodeConfig, declare_and_read, section_fields


@dataclass(frozen=True)
class FakeEngineConfig:
    """Settings of a fake engine: every parameter's description and range come from its field's metadata."""

    iterations: int = param(4, "Refinement iterations per frame.", range=(1, 50))
    step_m: float = param(0.01, "Step length, metres.", range=(0.0, 0.1), unit="metres")
    near_m: float = param(0.1, "Nearest depth, metres.", range=(0.0, None), unit="metres")
    device: str = param("cpu", "Torch device.")
    weights: tuple[float, ...] = (1.0, 2.0)  # not a scalar: no parameter

    def __post_init__(self) -> None:
        validate(self, lambda c: [("near_m", c.near_m < 10 * c.step_m * c.iterations,
                                   "must be < 10 * step_m * iterations")])


SECTIONS = (EngineSection("engine", FakeEngineConfig),)


@pytest.fixture
def make_node() -> Iterator:
    context = Context()
    rclpy.init(context=context, domain_id=200)
    nodes: list[Node] = []

    def make(**overrides) -> Node:
        params = [Parameter(k.replace("__", "."), value=v) for k, v in overrides.items()]
        node = Node("fpose_config_test", context=context, parameter_overrides=params)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.destroy_node()
    rclpy.shutdown(context=context)


def test_defaults_and_engine_section(make_node) -> None:
    node = make_node(mesh_file="/tmp/x.ply", engine__iterations=7)
    config = declare_and_read(node, SECTIONS)
    assert config.mesh_file == "/tmp/x.ply" and config.mesh_scale == 1.0 and config.object_frame == "object"
    assert config.input_qos == "sensor_data" and config.sync_slop_s == pytest.approx(0.02)
    assert config.depth_scale == pytest.approx(0.001)  # millimetres unless told otherwise
    assert config.engine == {"iterations": 7, "step_m": 0.01, "near_m": 0.1, "device": "cpu"}
    described = node.describe_parameter("engine.iterations")
    assert described.read_only and described.description == "Refinement iterations per frame."
    assert not node.describe_parameter("mesh_file").read_only
    assert node.describe_parameter("sync_slop_s").read_only


def test_every_problem_is_named_with_the_reason(make_node) -> None:
    node = make_node(sync_slop_s=2.0, mesh_scale=-1.0, input_qos="fast", object_frame="/obj",
                     engine__iterations=0, depth_scale=1000.0)
    with pytest.raises(ConfigError) as info:
        declare_and_read(node, SECTIONS)
    message = str(info.value)
    for expected in ("'mesh_file' = '' is required", "'sync_slop_s' = 2.0 must be in [1e-06, 0.5] s",
                     "'mesh_scale' = -1.0 must be a positive", "'input_qos' = 'fast' must be one of sensor_data",
                     "'object_frame' = '/obj' must be a TF frame name",
                     "'depth_scale' = 1000.0 must be in [1e-06, 0.01] m per depth unit",
                     "'engine.iterations' = 0 must be an integer in [1, 50]"):
        assert expected in message


@pytest.mark.parametrize("scale", [0.0, -0.001, float("nan"), float("inf"), 1e-7, 0.02])
def test_absurd_depth_scale_is_refused(make_node, scale: float) -> None:
    node = make_node(mesh_file="/tmp/x.ply", depth_scale=scale)
    with pytest.raises(ConfigError, match=r"'depth_scale' = .* must be in \[1e-06, 0.01\] m per depth unit"):
        declare_and_read(node)


def test_other_depth_units_are_accepted(make_node) -> None:
    assert declare_and_read(make_node(mesh_file="/tmp/x.ply", depth_scale=0.0001)).depth_scale == pytest.approx(1e-4)


def test_wrong_type_is_named(make_node) -> None:
    node = make_node(mesh_file="/tmp/x.ply", mesh_scale=1)
    with pytest.raises(ConfigError, match=r"'mesh_scale'.*INTEGER.*write 1.0"):
        declare_and_read(node)


def test_scalar_param_fields_are_the_parameters() -> None:
    assert [f.name for f in section_fields(SECTIONS[0])] == ["iterations", "step_m", "near_m", "device"]


def test_descriptions_and_ranges_are_declared_from_field_metadata(make_node) -> None:
    node = make_node(mesh_file="/tmp/x.ply")
    declare_and_read(node, SECTIONS)
    iterations = node.describe_parameter("engine.iterations")
    assert (iterations.integer_range[0].from_value, iterations.integer_range[0].to_value) == (1, 50)
    assert iterations.additional_constraints == "an integer in [1, 50]"
    step = node.describe_parameter("engine.step_m")
    assert (step.floating_point_range[0].from_value, step.floating_point_range[0].to_value) == (0.0, 0.1)
    near = node.describe_parameter("engine.near_m")  # unbounded above: no ROS range, the text says it
    assert not near.floating_point_range and near.additional_constraints == ">= 0 metres"
    slop = node.describe_parameter("sync_slop_s")
    assert slop.description == param_spec(next(f for f in fields(NodeConfig) if f.name == "sync_slop_s")).description
    assert slop.floating_point_range[0].to_value == 0.5
    assert node.describe_parameter("input_qos").additional_constraints == "one of sensor_data, reliable"


def test_out_of_ros_range_and_cross_field_problems_are_named(make_node) -> None:
    node = make_node(mesh_file="/tmp/x.ply", engine__step_m=0.5, mask_queue_size=5000)
    with pytest.raises(ConfigError) as info:
        declare_and_read(node, SECTIONS)
    assert "'engine.step_m' = 0.5 must be in [0, 0.1] metres" in str(info.value)
    assert "'mask_queue_size' = 5000 must be an integer in [1, 1000]" in str(info.value)
    node = make_node(mesh_file="/tmp/x.ply", engine__near_m=5.0)
    with pytest.raises(ConfigError, match=r"'engine\.\*' rejected by the engine: FakeEngineConfig: near_m=5.0 must"):
        declare_and_read(node, SECTIONS)


def test_config_yaml_lists_every_parameter_with_its_default() -> None:
    """config/fpose.yaml stays in step with the node and the engine's dataclasses."""
    from pathlib import Path

    import yaml

    from fpose_ros.node import ENGINE_SECTIONS
    from fpose_ros.ros.node_config import OBJECT_NAMES, ros_fields

    path = Path(__file__).resolve().parents[2] / "config" / "fpose.yaml"
    documented = flatten_keys(yaml.safe_load(path.read_text())["/**/fpose_node"]["ros__parameters"])
    # YAML writes the string lists' default () as [].
    expected = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default
                for f in ros_fields()} | {OBJECT_NAMES: []}
    for section in ENGINE_SECTIONS:
        expected.update({f"{section.prefix}.{f.name}": f.default for f in section_fields(section)})
        scalar = [f.name for f in fields(section.config_type) if isinstance(f.default, bool | int | float | str)]
        assert [f.name for f in section_fields(section)] == scalar, "an engine setting not declared with param()"
    assert documented == expected


def test_one_object_from_the_plain_parameters(make_node) -> None:
    config = declare_and_read(make_node(mesh_file="/tmp/x.ply", object_frame="cup", mask_label=3))
    (single,) = config.objects
    assert (single.mesh_file, single.tf_frame, single.mask_label, single.topic_prefix) == ("/tmp/x.ply", "cup", 3, "")
    assert single.mask_source == "mask" and not config.multi_object


def test_several_objects_from_names_and_their_parameters(make_node) -> None:
    node = make_node(object_names=["cup", "box", "can"], objects__cup__mesh_file="/m/cup.ply",
                     objects__cup__mask_label=1, objects__box__mesh_file="/m/box.obj", objects__box__mask_label=2,
                     objects__box__mesh_scale=0.001, objects__box__object_frame="box_frame",
                     objects__can__mesh_file="/m/can.stl", objects__can__mask_topic="can/mask")
    config = declare_and_read(node)
    assert config.multi_object
    cup, box, can = config.objects
    assert (cup.name, cup.mesh_file, cup.mesh_scale, cup.tf_frame) == ("cup", "/m/cup.ply", 1.0, "cup")
    assert cup.mask_label == 1
    assert (box.mesh_scale, box.tf_frame, box.mask_label, box.topic_prefix) == (0.001, "box_frame", 2, "box/")
    assert (can.mask_source, can.mask_label) == ("can/mask", 0)  # its own mask topic: any nonzero pixel
    assert node.describe_parameter("objects.box.mesh_file").read_only


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"objects__cup__mask_label": 1, "objects__box__mask_label": 1},
     "objects sharing the mask topic 'mask' need distinct nonzero mask_label values"),
    ({"objects__cup__mask_label": 1}, "cup=1, box=0"),
    ({"objects__cup__mask_label": 1, "objects__box__mask_label": 2, "objects__box__object_frame": "cup"},
     "each object needs its own TF frame; cup is given more than once"),
    ({"objects__cup__mask_label": 1, "objects__box__mask_label": 2, "mesh_file": "/m/x.ply"},
     "'mesh_file' is the one-object parameter"),
])
def test_objects_that_cannot_be_told_apart_are_refused(make_node, overrides, expected) -> None:
    node = make_node(object_names=["cup", "box"], objects__cup__mesh_file="/m/cup.ply",
                     objects__box__mesh_file="/m/box.ply", **overrides)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        declare_and_read(node)


def test_each_object_parameter_is_checked_by_name(make_node) -> None:
    node = make_node(object_names=["cup", "2box"], objects__cup__mesh_scale=-1.0)
    with pytest.raises(ConfigError) as info:
        declare_and_read(node)
    message = str(info.value)
    assert "'objects.cup.mesh_file' = '' is required" in message
    assert "'objects.cup.mesh_scale' = -1.0 must be a positive" in message
    assert "'object_names' entry '2box' must be a topic name token" in message


def test_the_multi_object_example_file_gives_three_objects(make_node) -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "config" / "fpose_objects.yaml"
    params = flatten_keys(yaml.safe_load(path.read_text())["/**/fpose_node"]["ros__parameters"])
    node = make_node(**{k.replace(".", "__"): v for k, v in params.items()})
    config = declare_and_read(node)
    assert [o.name for o in config.objects] == ["mug", "box", "can"]
    assert sorted(o.mask_label for o in config.objects) == [1, 2, 3]
    assert config.objects[2].symmetry.axis is not None and len(config.objects[2].symmetry.rotations) == 2


def test_symmetries_are_declared_as_isaac_ros_does(make_node) -> None:
    (single,) = declare_and_read(make_node(mesh_file="/tmp/x.ply", symmetry_axes=["z_90"],
                                           symmetry_planes=["x"])).objects
    assert (single.symmetry_axes, single.symmetry_planes) == (("z_90",), ("x",))
    assert len(single.symmetry.rotations) == 8  # the square's four turns, each also upside down
    (plain,) = declare_and_read(make_node(mesh_file="/tmp/x.ply")).objects
    assert plain.symmetry.is_trivial
    node = make_node(object_names=["can"], objects__can__mesh_file="/m/can.ply",
                     objects__can__symmetry_axes=["z_full"])
    (can,) = declare_and_read(node).objects
    assert can.symmetry.axis is not None
    assert node.describe_parameter("objects.can.symmetry_axes").additional_constraints == "a list of strings"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"symmetry_axes": ["z180"]}, "'symmetry_axes' = ('z180',) must be a list of '<x|y|z>_<degrees>'"),
    ({"symmetry_axes": ["z_70"]}, "'z_70': 70 deg does not divide 360"),
    ({"symmetry_planes": ["w"]}, "'symmetry_planes' = ('w',) must be a list of 'x', 'y' or 'z'"),
    ({"symmetry_axes": ["z_full"], "symmetry_planes": ["x", "y"]}, ""),
    ({"symmetry_axes": ["z_full", "x_90"]}, "symmetry_axes=('z_full', 'x_90') cannot be"),
    ({"symmetry_axes": "z_180"}, "'symmetry_axes'"),
])
def test_bad_symmetries_are_named(make_node, overrides, expected) -> None:
    node = make_node(mesh_file="/tmp/x.ply", **overrides)
    if not expected:
        declare_and_read(node)  # half turns about x and y with any turn about z: a plain can
        return
    with pytest.raises(ConfigError, match=re.escape(expected)):
        declare_and_read(node)


def test_an_object_whose_symmetries_make_no_group_is_named(make_node) -> None:
    node = make_node(object_names=["cup"], objects__cup__mesh_file="/m/cup.ply",
                     objects__cup__symmetry_axes=["x_30", "y_30"])
    with pytest.raises(ConfigError, match=re.escape("parameters of objects.cup rejected")):
        declare_and_read(node)
