"""Parameter declaration and validation of the node (in-process rclpy node, no traffic)."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.parameter import Parameter

from fpose_ros.core.errors import ConfigError
from fpose_ros.ros.node_config import EngineSection, declare_and_read, field_descriptions, section_fields


@dataclass(frozen=True)
class FakeEngineConfig:
    """Settings of a fake engine.

    Attributes:
        iterations: refinement iterations per
            frame (wrapped line).
        device (str): torch device.
        weights: per-stage weights (not a scalar: no parameter).

    Raises:
        ConfigError: never mind.
    """

    iterations: int = 4
    device: str = "cpu"
    weights: tuple[float, ...] = (1.0, 2.0)

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ConfigError(f"iterations must be >= 1, got {self.iterations}")


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
    assert config.engine == {"iterations": 7, "device": "cpu"}
    described = node.describe_parameter("engine.iterations")
    assert described.read_only and "refinement iterations per frame (wrapped line)" in described.description
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
                     "'engine.*' rejected by the engine: iterations must be >= 1"):
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


def test_field_descriptions_and_scalar_fields() -> None:
    descriptions = field_descriptions(FakeEngineConfig)
    assert descriptions["device"] == "torch device."
    assert "Raises" not in " ".join(descriptions.values())
    assert [f.name for f in section_fields(SECTIONS[0])] == ["iterations", "device"]


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_config_yaml_lists_every_parameter_with_its_default() -> None:
    """config/fpose.yaml stays in step with the node and the engine's dataclasses."""
    from pathlib import Path

    import yaml

    from fpose_ros.node import ENGINE_SECTIONS
    from fpose_ros.ros.node_config import ros_fields

    path = Path(__file__).resolve().parents[2] / "config" / "fpose.yaml"
    documented = _flatten(yaml.safe_load(path.read_text())["/**/fpose_node"]["ros__parameters"])
    expected = {f.name: f.default for f in ros_fields()}
    for section in ENGINE_SECTIONS:
        expected.update({f"{section.prefix}.{f.name}": f.default for f in section_fields(section)})
        descriptions = field_descriptions(section.config_type)
        assert all(descriptions.get(f.name) for f in section_fields(section)), "engine field without a description"
    assert documented == expected
