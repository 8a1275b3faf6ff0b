"""The node's parameters: declared from the configuration dataclasses' field metadata, read once, validated.

Two kinds of parameters:

- the ROS side (:class:`NodeConfig`'s own fields: inputs, synchronization, QoS, frames);
- the engine's settings, declared from the engine's own configuration dataclasses under a
  prefix (``engine.*`` from ``EstimatorConfig``, ``loss.*`` from ``LossCriteria``).

Every parameter is a field declared with :func:`~fpose_ros.core.validated_config.param`: its
description, range (a ROS ``FloatingPointRange`` / ``IntegerRange`` where both ends are finite) and
what a valid value is (``additional_constraints``) come from the field's metadata, and the value is
checked by the same :class:`~fpose_ros.core.validated_config.ParamSpec` the engine's dataclasses use.
The node therefore exposes exactly what the engine supports, without a second list to keep in step.

Only ``mesh_file`` and ``mesh_scale`` can change at run time (re-registration follows);
every other parameter is read-only once the node runs.
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

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.validated_config import ParamSpec, param, param_spec, validate

#: Parameters that may change while the node runs.
RUNTIME_PARAMETERS = ("mesh_file", "mesh_scale")
INPUT_QOS_CHOICES = ("sensor_data", "reliable")
_FRAME_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def _frame_id(value: str) -> str | None:
    if _FRAME_ID.match(value) and not value.startswith("/"):
        return None
    return "must be a TF frame name: letters, digits, '_', '.', '/', '-', not starting with '/' or a digit"


def _mesh_file(value: str) -> str | None:
    return None if value else "is required: the object's mesh (.obj, .ply, .stl, .glb), e.g. -p mesh_file:=/a/b.ply"


@dataclass(frozen=True)
class NodeConfig:
    """All of the node's ROS-side parameters (see config/fpose.yaml for the commented defaults)."""

    mesh_file: str = param("", "Mesh of the object to track (.obj with .mtl texture, .ply, .stl, .glb). "
                               "Required. Can change at run time; the node re-registers.", check=_mesh_file)
    mesh_scale: float = param(1.0, "Multiplies mesh coordinates to give metres (0.001 for a mesh in mm).",
                              range=(0, None), low_open=True)
    object_frame: str = param("object", "TF child frame of the object (its mesh frame), published under the "
                                        "colour image's frame_id.", check=_frame_id)
    depth_scale: float = param(0.001, "Metres per unit of a 16UC1 depth image: 0.001 = millimetres (REP 118, "
                                      "realsense-ros for every model); 0.0001 for 0.1 mm units. 32FC1 depth is "
                                      "metres regardless.", range=(1e-6, 0.01), unit="m per depth unit")
    mask_label: int = param(0, "Which mask pixels are the object: 0 = every nonzero pixel; otherwise pixels "
                               "equal to this label (16UC1/32SC1 instance label images).", range=(0, 2**31 - 1))
    class_id: str = param("", "Detector class of the object: a box of this class on detections_2d starts a "
                              "registration where no mask comes; the class_id of its entry on detections. Empty: "
                              "boxes are not used.")
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
    input_timeout_s: float = param(1.0, "Warn when images arrive but no complete colour/depth/camera_info set "
                                        "was formed for this long, seconds.", range=(0.1, 60.0), unit="s")
    warn_period_s: float = param(5.0, "The same input problem is logged at most once per this period, seconds.",
                                 range=(0.0, 3600.0), unit="s")
    engine: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)


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


def declare_and_read(node: Node, sections: tuple[EngineSection, ...] = ()) -> NodeConfig:
    """Declare every parameter on ``node``, read and validate them.

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
    if errors:
        raise ConfigError("invalid parameters:\n  - " + "\n  - ".join(errors))
    return NodeConfig(**values)


def _declare(node: Node, name: str, f: dataclasses.Field, read_only: bool, errors: list[str]) -> Any:
    """Declare one parameter; returns its value, or None after recording why it was refused."""
    spec = param_spec(f)
    assert spec is not None  # ros_fields / section_fields hold only param() fields
    try:
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
