"""The node's parameters: declared with descriptors, read once at start-up, validated with clear messages.

Two kinds of parameters:

- the ROS side (:class:`NodeConfig`'s own fields: inputs, synchronization, QoS, frames), each
  declared with a description and a check that says what a valid value is;
- the engine's settings, declared from the engine's own configuration dataclasses under a
  prefix (``engine.*`` from ``EstimatorConfig``, ``loss.*`` from ``LossCriteria``): every
  scalar field becomes a parameter with the dataclass default and the description from its
  docstring, and the dataclass itself validates the values. The node therefore exposes
  exactly what the engine supports, without a second list to keep in step.

Only ``mesh_file`` and ``mesh_scale`` can change at run time (re-registration follows);
every other parameter is read-only once the node runs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from fpose_ros.core.errors import ConfigError

#: Parameters that may change while the node runs.
RUNTIME_PARAMETERS = ("mesh_file", "mesh_scale")
INPUT_QOS_CHOICES = ("sensor_data", "reliable")
_FRAME_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")

Check = Callable[[Any], str | None]


def _param(default: Any, description: str, check: Check | None = None) -> Any:
    return field(default=default, metadata={"description": description, "check": check})


def _positive(value: float) -> str | None:
    return None if math.isfinite(value) and value > 0 else "must be a positive finite number"


def _in_range(low: float, high: float, unit: str = "") -> Check:
    def check(value: float) -> str | None:
        if math.isfinite(value) and low <= value <= high:
            return None
        return f"must be in [{low:g}, {high:g}]{unit}"
    return check


def _frame_id(value: str) -> str | None:
    if _FRAME_ID.match(value) and not value.startswith("/"):
        return None
    return "must be a TF frame name: letters, digits, '_', '.', '/', '-', not starting with '/' or a digit"


def _choice(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _mesh_file(value: str) -> str | None:
    return None if value else "is required: the object's mesh (.obj, .ply, .stl, .glb), e.g. -p mesh_file:=/a/b.ply"


@dataclass(frozen=True)
class NodeConfig:
    """All of the node's ROS-side parameters (see config/fpose.yaml for the commented defaults)."""

    mesh_file: str = _param("", "Mesh of the object to track (.obj with .mtl texture, .ply, .stl, .glb). "
                                "Required. Can change at run time; the node re-registers.", _mesh_file)
    mesh_scale: float = _param(1.0, "Multiplies mesh coordinates to give metres (0.001 for a mesh in mm).", _positive)
    object_frame: str = _param("object", "TF child frame of the object (its mesh frame), published under the "
                                         "colour image's frame_id.", _frame_id)
    depth_scale: float = _param(0.001, "Metres per unit of a 16UC1 depth image: 0.001 = millimetres (REP 118, "
                                       "realsense-ros for every model); 0.0001 for 0.1 mm units. 32FC1 depth is "
                                       "metres regardless.",
                                _in_range(1e-6, 0.01, " m per depth unit (0.001 = millimetres)"))
    mask_label: int = _param(0, "Which mask pixels are the object: 0 = every nonzero pixel; otherwise pixels "
                                "equal to this label (16UC1/32SC1 instance label images).", _in_range(0, 2**31 - 1))
    publish_tf: bool = _param(True, "Publish the pose on /tf as well as on `pose`.")
    input_qos: str = _param("sensor_data", "QoS of the image, camera_info and mask subscriptions: sensor_data "
                                           "(best effort; also receives from reliable publishers) or reliable.",
                            _choice(*INPUT_QOS_CHOICES))
    input_qos_depth: int = _param(5, "History depth of the input subscriptions.", _in_range(1, 100))
    sync_slop_s: float = _param(0.02, "Largest stamp difference between colour, depth and camera_info of one "
                                      "frame, seconds (about half a frame period: 0.0167 at 30 Hz).",
                                _in_range(1e-6, 0.5, " s; a larger slop pairs images taken at different moments"))
    sync_queue_size: int = _param(10, "Messages per input the synchronizer keeps while waiting for partners.",
                                  _in_range(1, 100))
    mask_slop_s: float = _param(0.02, "Largest stamp difference between a mask and the frame it belongs to, s.",
                                _in_range(0.0, 0.5, " s"))
    mask_queue_size: int = _param(10, "Masks kept for matching to frames.", _in_range(1, 1000))
    frame_history_size: int = _param(90, "Frames kept so that a mask that arrives late still finds its frame "
                                         "and a registration is bridged to the live stream (90 = 3 s at 30 Hz).",
                                  _in_range(1, 300))
    catch_up_budget_s: float = _param(1.0, "After a registration every frame that arrived meanwhile is tracked in "
                                           "order; frames are skipped evenly only when that would take longer "
                                           "than this, seconds.", _in_range(0.05, 10.0, " s"))
    input_timeout_s: float = _param(1.0, "Warn when images arrive but no complete colour/depth/camera_info set "
                                         "was formed for this long, seconds.", _in_range(0.1, 60.0, " s"))
    warn_period_s: float = _param(5.0, "The same input problem is logged at most once per this period, seconds.",
                                  _in_range(0.0, 3600.0, " s"))
    engine: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineSection:
    """An engine configuration dataclass exposed as parameters ``<prefix>.<field>``."""

    prefix: str
    config_type: type


def ros_fields() -> list[dataclasses.Field]:
    """The :class:`NodeConfig` fields that are ROS parameters of their own (not engine sections)."""
    return [f for f in dataclasses.fields(NodeConfig) if "description" in f.metadata]


def section_fields(section: EngineSection) -> list[dataclasses.Field]:
    """Scalar fields with a plain default: those are parameters; the rest keep the engine's default."""
    return [f for f in dataclasses.fields(section.config_type)
            if f.default is not dataclasses.MISSING and isinstance(f.default, bool | int | float | str)]


def field_descriptions(config_type: type) -> dict[str, str]:
    """``name: text`` entries of the Google-style ``Attributes:`` block of a dataclass docstring."""
    doc = config_type.__doc__ or ""
    block = doc.split("Attributes:", 1)[1] if "Attributes:" in doc else ""
    names = {f.name for f in dataclasses.fields(config_type)}
    descriptions: dict[str, str] = {}
    current: str | None = None
    for line in block.strip("\n").splitlines():
        match = re.match(r"^\s*(\w+)(?: \([^)]*\))?: (.+)$", line)
        if match and match.group(1) in names:
            current = match.group(1)
            descriptions[current] = match.group(2).strip()
        elif not line.strip():  # a blank line ends the block
            break
        elif current is not None:
            descriptions[current] += " " + line.strip()
    return descriptions


def declare_and_read(node: Node, sections: tuple[EngineSection, ...] = ()) -> NodeConfig:
    """Declare every parameter on ``node``, read and validate them.

    Raises:
        ConfigError: one line per invalid parameter: its name, the value, and what a valid value is.
    """
    errors: list[str] = []
    values: dict[str, Any] = {}
    for f in ros_fields():
        read_only = f.name not in RUNTIME_PARAMETERS
        value = _declare(node, f.name, f.default, f.metadata["description"], read_only, errors)
        if value is None:
            continue
        problem = f.metadata["check"](value) if f.metadata["check"] is not None else None
        if problem:
            errors.append(f"parameter '{f.name}' = {value!r} {problem}")
        values[f.name] = value
    for section in sections:
        descriptions = field_descriptions(section.config_type)
        section_values: dict[str, Any] = {}
        for f in section_fields(section):
            name = f"{section.prefix}.{f.name}"
            value = _declare(node, name, f.default, descriptions.get(f.name, ""), True, errors)
            if value is not None:
                section_values[f.name] = value
        try:
            section.config_type(**section_values)
        except (ConfigError, ValueError, TypeError) as exc:
            errors.append(f"parameters '{section.prefix}.*' rejected by the engine: {exc}")
        values[section.prefix] = section_values
    if errors:
        raise ConfigError("invalid parameters:\n  - " + "\n  - ".join(errors))
    return NodeConfig(**values)


def _declare(node: Node, name: str, default: Any, description: str, read_only: bool, errors: list[str]) -> Any:
    """Declare one parameter; returns its value, or None after recording why it was refused."""
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    try:
        return node.declare_parameter(name, default, descriptor).value
    except ParameterException as exc:
        hint = " (write 1.0, not 1, for a floating-point parameter)" if isinstance(default, float) else ""
        errors.append(f"parameter '{name}': {exc}{hint}")
        return None
