"""The node's parameters: declared from the configuration dataclasses' field metadata, read once, validated.

Two kinds of parameters:

- the ROS side (:class:`NodeConfig`'s own fields: inputs, synchronization, QoS, frames);
- the engine's settings, declared from the engine's own configuration dataclasses under a
  prefix (``engine.*`` from ``EstimatorConfig``, ``loss.*`` from ``LossCriteria``);
- the objects (:class:`ObjectConfig`): the plain ``mesh_file``, ``mesh_scale``, ``object_frame``,
  ``mask_label`` for one object, or ``object_names: [a, b]`` and ``objects.<name>.<field>`` for several
  (rclpy parameters cannot be lists of dicts; in YAML ``objects: {a: {mesh_file: ...}}`` nests them).

Every parameter is a field declared with :func:`~fpose_ros.core.validated_config.param`: its
description, range (a ROS ``FloatingPointRange`` / ``IntegerRange`` where both ends are finite) and
what a valid value is (``additional_constraints``) come from the field's metadata, and the value is
checked by the same :class:`~fpose_ros.core.validated_config.ParamSpec` the engine's dataclasses use.
The node therefore exposes exactly what the engine supports, without a second list to keep in step.

Only ``mesh_file`` and ``mesh_scale`` (the one-object node's) can change at run time (re-registration
follows); every other parameter is read-only once the node runs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.symmetry import Symmetry, parse_symmetry, symmetry_problem
from fpose_ros.core.validated_config import ParamSpec, param, param_spec, validate

#: Parameters that may change while the node runs.
RUNTIME_PARAMETERS = ("mesh_file", "mesh_scale")
INPUT_QOS_CHOICES = ("sensor_data", "reliable")
_FRAME_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TOPIC = re.compile(r"^[~/]?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
#: The shared mask topic (relative): a mask, or a label image for several objects.
MASK_TOPIC = "mask"
#: The parameter that lists the objects of a multi-object node.
OBJECT_NAMES = "object_names"
#: The one-object node's parameters that make its ObjectConfig (same names as ObjectConfig's fields).
_SINGLE_OBJECT_PARAMETERS = ("mesh_file", "mesh_scale", "object_frame", "mask_label", "class_id", "symmetry_axes",
                             "symmetry_planes")


def _frame_id(value: str) -> str | None:
    if _FRAME_ID.match(value) and not value.startswith("/"):
        return None
    return "must be a TF frame name: letters, digits, '_', '.', '/', '-', not starting with '/' or a digit"


def _frame_id_or_empty(value: str) -> str | None:
    return _frame_id(value) if value else None


def _mesh_file(value: str) -> str | None:
    return None if value else "is required: the object's mesh (.obj, .ply, .stl, .glb), e.g. -p mesh_file:=/a/b.ply"


def _object_name(value: str) -> str | None:
    if _OBJECT_NAME.match(value):
        return None
    return "must be a topic name token: a letter, then letters, digits or '_'"


def _topic_or_empty(value: str) -> str | None:
    if not value or _TOPIC.match(value):
        return None
    return "must be a topic name: letters, digits, '_', '/', '~', not ending with '/'"


def _mesh_scale_param() -> Any:
    return param(1.0, "Multiplies mesh coordinates to give metres (0.001 for a mesh in mm).", range=(0, None),
                 low_open=True)


def _mask_label_param() -> Any:
    return param(0, "Which mask pixels are the object: 0 = every nonzero pixel; otherwise pixels equal to this "
                    "label (mono8/16UC1/32SC1 instance or class label images).", range=(0, 2**31 - 1))


def _symmetry_axes_param() -> Any:
    return param((), "Turns that leave the object looking the same (shape and print), as Isaac ROS FoundationPose "
                     "declares them: '<x|y|z>_<degrees>' or '<x|y|z>_full' (any angle), about the mesh frame's "
                     "axes through the centre of the mesh's bounding box, e.g. [z_180] or [z_full, x_180] for a "
                     "plain can. Closed into their group (an angle must divide 360). Empty: none.",
                 check=symmetry_problem)


def _symmetry_planes_param() -> Any:
    return param((), "Isaac ROS's older form of symmetry_axes: 'x', 'y' or 'z', each a half turn about that axis "
                     "(the same as '<axis>_180').", check=lambda v: symmetry_problem(v, planes=True))


def _symmetry_group_problems(config: Any) -> list[tuple[str, bool, str]]:
    """The ``validate`` relation: ``symmetry_axes`` and ``symmetry_planes`` together make a group."""
    try:
        parse_symmetry(config.symmetry_axes, config.symmetry_planes)
    except ConfigError as exc:
        return [("symmetry_axes", False, f"cannot be: {exc}")]
    return []


def _class_id_param() -> Any:
    return param("", "Detector class of the object: a box of this class on detections_2d starts a registration "
                     "where no mask comes; the class_id of its entry on detections. Empty: boxes are not used.")


@dataclass(frozen=True)
class ObjectConfig:
    """One tracked object: its mesh, TF frame, topics and the mask pixels that select it.

    The one-object node builds one from the plain parameters (``mesh_file``, ...), topics without a
    prefix; with ``object_names`` each object has parameters ``objects.<name>.<field>`` and its topics
    under ``<name>/`` (``<name>/pose``, ``<name>/status``, ...).
    """

    name: str = param("object", "Name of the object: its topic prefix and, unless object_frame says "
                                "otherwise, its TF frame.", check=_object_name)
    mesh_file: str = param("", "Mesh of the object (.obj with .mtl texture, .ply, .stl, .glb). Required.",
                           check=_mesh_file)
    mesh_scale: float = _mesh_scale_param()
    object_frame: str = param("", "TF child frame of the object (its mesh frame); empty = the object's name.",
                              check=_frame_id_or_empty)
    mask_label: int = _mask_label_param()
    mask_topic: str = param("", "Topic of this object's own masks (mono8, or a label image with mask_label); "
                                "empty = the node's shared `mask` topic (a label image: give each object its "
                                "mask_label).", check=_topic_or_empty)
    class_id: str = _class_id_param()
    symmetry_axes: tuple[str, ...] = _symmetry_axes_param()
    symmetry_planes: tuple[str, ...] = _symmetry_planes_param()
    topic_prefix: str = ""  # "" for the one-object node, "<name>/" for several objects

    def __post_init__(self) -> None:
        validate(self, _symmetry_group_problems)

    @property
    def symmetry(self) -> Symmetry:
        """The object's declared symmetries (``symmetry_axes`` and ``symmetry_planes``, validated)."""
        return parse_symmetry(self.symmetry_axes, self.symmetry_planes)

    @property
    def tf_frame(self) -> str:
        """The TF child frame: ``object_frame``, or the name where that is empty."""
        return self.object_frame or self.name

    @property
    def mask_source(self) -> str:
        """The (relative) topic this object's masks come on."""
        return self.mask_topic or MASK_TOPIC


@dataclass(frozen=True)
class NodeConfig:
    """All of the node's ROS-side parameters (see config/fpose.yaml for the commented defaults).

    ``objects`` is what the node tracks: one :class:`ObjectConfig` per name of ``object_names``, or, where
    that list is empty, the one object of the plain ``mesh_file``, ``mesh_scale``, ``object_frame`` and
    ``mask_label`` (built by :func:`declare_and_read`).
    """

    mesh_file: str = param("", "Mesh of the object to track (.obj with .mtl texture, .ply, .stl, .glb). "
                               "Required unless object_names is set. Can change at run time; the node "
                               "re-registers.")
    mesh_scale: float = _mesh_scale_param()
    object_frame: str = param("object", "TF child frame of the object (its mesh frame), published under the "
                                        "colour image's frame_id.", check=_frame_id)
    depth_scale: float = param(0.001, "Metres per unit of a 16UC1 depth image: 0.001 = millimetres (REP 118, "
                                      "realsense-ros for every model); 0.0001 for 0.1 mm units. 32FC1 depth is "
                                      "metres regardless.", range=(1e-6, 0.01), unit="m per depth unit")
    mask_label: int = _mask_label_param()
    class_id: str = _class_id_param()
    symmetry_axes: tuple[str, ...] = _symmetry_axes_param()
    symmetry_planes: tuple[str, ...] = _symmetry_planes_param()
    publish_tf: bool = param(True, "Publish the pose on /tf as well as on `pose`.")
    input_qos: str = param("sensor_data", "QoS of the image, camera_info and mask subscriptions: sensor_data "
                                          "(best effort; also receives from reliable publishers) or reliable.",
                           choices=INPUT_QOS_CHOICES)
    input_qos_depth: int = param(5, "History depth of the input subscriptions.", range=(1, 100))
    # A larger slop pairs images taken at different moments.
    sync_slop_s: float = param(0.02, "Largest stamp difference between colour, depth and camera_info of one "
                                     "frame, seconds (about half a frame period: 0.0167 at 30 Hz).",
                               range=(1e-6, 0.5), unit="s")
    sync_queue_size: int = param(10, "Messages per input the synchronizer keeps while waiting for partners.",
                                 range=(1, 100))
    mask_slop_s: float = param(0.02, "Largest stamp difference between a mask and the frame it belongs to, s.",
                               range=(0.0, 0.5), unit="s")
    mask_queue_size: int = param(10, "Masks kept for matching to frames.", range=(1, 1000))
    frame_history_size: int = param(90, "Frames kept so that a mask that arrives late still finds its frame "
                                        "and a registration is bridged to the live stream (90 = 3 s at 30 Hz).",
                                    range=(1, 300))
    catch_up_budget_s: float = param(1.0, "After a registration every frame that arrived meanwhile is tracked in "
                                          "order; frames are skipped evenly only when that would take longer "
                                          "than this, seconds.", range=(0.05, 10.0), unit="s")
    backfill_frames: int = param(15, "After a registration, the frames before the registered one (back to the "
                                     "last frame tracked, at most this many) are tracked back from its pose and "
                                     "their poses published with their own stamps, before the registered frame's "
                                     "(0: none).", range=(0, 300))
    input_timeout_s: float = param(1.0, "Warn when images arrive but no complete colour/depth/camera_info set "
                                        "was formed for this long, seconds.", range=(0.1, 60.0), unit="s")
    warn_period_s: float = param(5.0, "The same input problem is logged at most once per this period, seconds.",
                                 range=(0.0, 3600.0), unit="s")
    engine: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] = field(default_factory=dict)
    objects: tuple[ObjectConfig, ...] = ()

    def __post_init__(self) -> None:
        validate(self, _symmetry_group_problems)
        problems = object_problems(self.objects)
        if problems:
            raise ConfigError("NodeConfig: " + "; ".join(problems))

    @property
    def multi_object(self) -> bool:
        """True when objects come from ``object_names`` (topics under ``<name>/``)."""
        return any(o.topic_prefix for o in self.objects)


def object_problems(objects: tuple[ObjectConfig, ...]) -> list[str]:
    """What is wrong between objects: repeated names or TF frames, labels that cannot tell objects apart.

    Objects that share a mask topic are told apart by ``mask_label``: each needs its own, nonzero label.
    """
    problems = []
    for what, values in (("name", [o.name for o in objects]), ("TF frame", [o.tf_frame for o in objects])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            problems.append(f"each object needs its own {what}; {', '.join(repeated)} is given more than once")
    by_topic: dict[str, list[ObjectConfig]] = {}
    for o in objects:
        by_topic.setdefault(o.mask_source, []).append(o)
    for topic, sharing in by_topic.items():
        if len(sharing) < 2:
            continue
        labels = [o.mask_label for o in sharing]
        if 0 in labels or len(set(labels)) < len(labels):
            listed = ", ".join(f"{o.name}={o.mask_label}" for o in sharing)
            problems.append(f"objects sharing the mask topic '{topic}' need distinct nonzero mask_label values "
                            f"(label image: pixel value = object); got {listed}")
    return problems


@dataclass(frozen=True)
class EngineSection:
    """An engine configuration dataclass exposed as parameters ``<prefix>.<field>``."""

    prefix: str
    config_type: type


def ros_fields() -> list[dataclasses.Field]:
    """The :class:`NodeConfig` fields that are ROS parameters of their own (not engine sections)."""
    return [f for f in dataclasses.fields(NodeConfig) if param_spec(f) is not None]


def section_fields(section: EngineSection) -> list[dataclasses.Field]:
    """Fields declared with ``param`` and a scalar default: those are parameters; the rest keep the engine's default."""
    return [f for f in dataclasses.fields(section.config_type)
            if param_spec(f) is not None and isinstance(f.default, bool | int | float | str)]


def descriptor(spec: ParamSpec, read_only: bool) -> ParameterDescriptor:
    """The ROS descriptor of a parameter: description, what a valid value is, and its range where ROS can hold it.

    ROS ranges are inclusive and finite; an open or unbounded end, or values allowed outside the range
    (``also``), stay in ``additional_constraints`` and are checked by the spec.
    """
    desc = ParameterDescriptor(description=spec.description, read_only=read_only,
                               additional_constraints=spec.allowed())
    low, high = spec.range or (None, None)
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high) and not spec.also:
        if spec.kind is int:
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif spec.kind is float:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
    return desc


def object_fields() -> list[dataclasses.Field]:
    """The :class:`ObjectConfig` fields that are parameters ``objects.<name>.<field>`` of each listed object."""
    return [f for f in dataclasses.fields(ObjectConfig) if param_spec(f) is not None and f.name != "name"]


def declare_and_read(node: Node, sections: tuple[EngineSection, ...] = ()) -> NodeConfig:
    """Declare every parameter on ``node``, read and validate them.

    With ``object_names`` empty the node tracks the one object of ``mesh_file`` (required then); with
    names, ``objects.<name>.*`` are declared for each (read-only) and the plain object parameters are unused.

    Raises:
        ConfigError: one line per invalid parameter: its name, the value, and what a valid value is.
    """
    errors: list[str] = []
    values: dict[str, Any] = {}
    for f in ros_fields():
        value = _declare(node, f.name, f, f.name not in RUNTIME_PARAMETERS, errors)
        if value is not None:
            values[f.name] = value
    for section in sections:
        section_values: dict[str, Any] = {}
        fields = section_fields(section)
        for f in fields:
            value = _declare(node, f"{section.prefix}.{f.name}", f, True, errors)
            if value is not None:
                section_values[f.name] = value
        if len(section_values) == len(fields):  # each valid alone: now the rules between them
            try:
                section.config_type(**section_values)
            except ConfigError as exc:
                errors.append(f"parameters '{section.prefix}.*' rejected by the engine: {exc}")
        values[section.prefix] = section_values
    values["objects"] = _declare_objects(node, values, errors)
    if errors:
        raise ConfigError("invalid parameters:\n  - " + "\n  - ".join(errors))
    try:
        return NodeConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"invalid parameters:\n  - {exc}") from exc


def _declare_objects(node: Node, values: dict[str, Any], errors: list[str]) -> tuple[ObjectConfig, ...]:
    """The tracked objects: one per ``object_names`` entry (``objects.<name>.*``), else the plain parameters'."""
    names: list[str] = node.declare_parameter(OBJECT_NAMES, Parameter.Type.STRING_ARRAY, ParameterDescriptor(
        description="Names of the objects to track in one node (their parameters: objects.<name>.mesh_file, "
                    "mesh_scale, object_frame, mask_label, mask_topic, class_id, symmetry_axes, symmetry_planes; "
                    "topics <name>/pose, <name>/status, ...). "
                    "Empty: the one object of mesh_file.", read_only=True)).value or []
    if not names:
        if "mesh_file" in values and not values["mesh_file"]:
            errors.append(f"parameter 'mesh_file' = '' {_mesh_file('')} (or list several objects in {OBJECT_NAMES})")
        single = {k: values[k] for k in _SINGLE_OBJECT_PARAMETERS if k in values}
        if len(single) < len(_SINGLE_OBJECT_PARAMETERS) or not single["mesh_file"]:
            return ()
        return _object_or_error(errors, "the object", **single)
    if values.get("mesh_file"):
        errors.append(f"parameter 'mesh_file' is the one-object parameter: with {OBJECT_NAMES} set, give each "
                      "object's mesh as objects.<name>.mesh_file")
    objects: list[ObjectConfig] = []
    for name in names:
        problem = _object_name(name)
        if problem:
            errors.append(f"parameter '{OBJECT_NAMES}' entry {name!r} {problem}")
            continue
        fields = object_fields()
        object_values = {}
        for f in fields:
            value = _declare(node, f"objects.{name}.{f.name}", f, True, errors)
            if value is not None:
                object_values[f.name] = value
        if len(object_values) == len(fields):
            objects.extend(_object_or_error(errors, f"objects.{name}", name=name, topic_prefix=f"{name}/",
                                            **object_values))
    return tuple(objects)


def _object_or_error(errors: list[str], label: str, **values: Any) -> tuple[ObjectConfig, ...]:
    """``(ObjectConfig(**values),)``, or ``()`` after recording why values valid alone do not go together."""
    try:
        return (ObjectConfig(**values),)
    except ConfigError as exc:
        errors.append(f"parameters of {label} rejected: {exc}")
        return ()


def _declare(node: Node, name: str, f: dataclasses.Field, read_only: bool, errors: list[str]) -> Any:
    """Declare one parameter; returns its value, or None after recording why it was refused."""
    spec = param_spec(f)
    assert spec is not None  # ros_fields / section_fields hold only param() fields
    value: Any
    try:
        if isinstance(f.default, tuple):
            # rclpy cannot tell a string array from an empty default; unset, the value is None.
            value = node.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor(spec, read_only)).value
            value = tuple(value or f.default)
        else:
            value = node.declare_parameter(name, f.default, descriptor(spec, read_only)).value
    except InvalidParameterValueException:
        # Outside the ROS range: declared again without it, to say what a valid value is in our words.
        plain = descriptor(dataclasses.replace(spec, range=None), read_only)
        value = node.declare_parameter(name, f.default, plain).value
    except ParameterException as exc:
        hint = " (write 1.0, not 1, for a floating-point parameter)" if isinstance(f.default, float) else ""
        errors.append(f"parameter '{name}': {exc}{hint}")
        return None
    problem = spec.problem(value)
    if problem:
        errors.append(f"parameter '{name}' = {value!r} {problem}")
        return None
    return value
