"""Which topic feeds which input of ``fpose_node``, and the node's ``--ros-args`` for them.

One place for the node's input names, so that ``fpose-replay``, the live benchmark and the
end-to-end tests start the node the same way (``python -m fpose_ros.node --ros-args -p ... -r ...``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpose_ros.ros.stream_messages import StreamTopics

NODE_INPUTS = ("color/image_raw", "depth/image_raw", "color/camera_info", "mask", "detections_2d")
_IMAGE, _INFO, _POSE = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "geometry_msgs/msg/PoseStamped"
_BOXES = "vision_msgs/msg/Detection2DArray"


class ReplayError(RuntimeError):
    """The bag, the topics or the node are not usable; the message says which and why."""


@dataclass(frozen=True)
class TopicPlan:
    """Which bag topic feeds which node input, and where the ground truth is."""

    inputs: dict[str, str]  # node input name -> bag topic (mask and detections_2d may be absent)
    gt_topic: str | None

    @property
    def color(self) -> str:
        """The bag topic that feeds the colour input."""
        return self.inputs["color/image_raw"]


def stream_plan(topics: StreamTopics | None = None, gt_topic: str | None = None) -> TopicPlan:
    """Every node input fed from a stream's topics (:class:`StreamTopics`, RealSense-like by default)."""
    topics = topics or StreamTopics()
    return TopicPlan({"color/image_raw": topics.color, "depth/image_raw": topics.depth,
                      "color/camera_info": topics.camera_info, "mask": topics.mask}, gt_topic)


def plan_topics(bag_topics: dict[str, str], remaps: dict[str, str], gt_topic: str | None) -> TopicPlan:
    """Match bag topics to node inputs: remaps first, then by type and name.

    Raises:
        ReplayError: a required input is missing or ambiguous (the message lists the candidates).
    """
    unknown = set(remaps) - set(NODE_INPUTS)
    if unknown:
        raise ReplayError(f"unknown node input(s) {sorted(unknown)} in remaps; the node's inputs are {NODE_INPUTS}")
    for name, topic in remaps.items():
        if topic not in bag_topics:
            raise ReplayError(f"remap {name}:={topic}: the bag has no topic {topic}; it has {sorted(bag_topics)}")
    images = [t for t, k in bag_topics.items() if k == _IMAGE and t not in remaps.values()]
    infos = [t for t, k in bag_topics.items() if k == _INFO and t not in remaps.values()]
    boxes = [t for t, k in bag_topics.items() if k == _BOXES and t not in remaps.values()]

    def pick(name: str, candidates: list[str], words: tuple[str, ...], avoid: tuple[str, ...] = ()) -> str | None:
        if name in remaps:
            return remaps[name]
        matches = [t for t in candidates
                   if any(w in t.lower() for w in words) and not any(a in t.lower() for a in avoid)]
        if len(matches) > 1:  # prefer depth registered to colour, as the node requires
            aligned = [t for t in matches if "aligned" in t.lower()]
            matches = aligned if len(aligned) == 1 else matches
        if len(matches) > 1:
            raise ReplayError(f"several bag topics could be the node's {name}: {matches}; choose with {name}:=TOPIC")
        return matches[0] if matches else None

    inputs = {
        "color/image_raw": pick("color/image_raw", images, ("color", "rgb"), ("depth", "mask", "seg", "overlay")),
        "depth/image_raw": pick("depth/image_raw", images, ("depth",), ("mask", "seg")),
        "color/camera_info": pick("color/camera_info", infos, ("color", "rgb")),
        "mask": pick("mask", images, ("mask", "seg", "label")),
        "detections_2d": pick("detections_2d", boxes, ("",)),  # any Detection2DArray topic, by type alone
    }
    if inputs["color/camera_info"] is None and len(infos) == 1:  # a bag with one camera_info: that one
        inputs["color/camera_info"] = infos[0]
    missing = [n for n in NODE_INPUTS[:3] if inputs[n] is None]
    if missing:
        raise ReplayError(f"no bag topic for the node's {', '.join(missing)}; the bag has "
                          f"{ {t: k for t, k in bag_topics.items()} }; choose with NAME:=TOPIC")
    if gt_topic is not None and bag_topics.get(gt_topic) != _POSE:
        raise ReplayError(f"ground-truth topic {gt_topic} is not a PoseStamped topic of the bag")
    if gt_topic is None:
        poses = [t for t, k in bag_topics.items() if k == _POSE and ("ground_truth" in t or "gt" in t.split("/"))]
        gt_topic = poses[0] if len(poses) == 1 else None
    return TopicPlan({n: t for n, t in inputs.items() if t is not None}, gt_topic)


def node_arguments(mesh: Path | None, plan: TopicPlan, mesh_scale: float = 1.0, params: Sequence[str] = (),
                   params_file: Path | None = None) -> list[str]:
    """``--ros-args`` of the node: mesh, parameters (``NAME:=VALUE``), and the remaps onto ``plan``'s topics.

    ``mesh`` None: no ``mesh_file`` (the objects come from ``object_names`` in ``params`` / ``params_file``).
    """
    arguments = ["--ros-args"]
    if mesh is not None:
        arguments += ["-p", f"mesh_file:={Path(mesh).resolve()}", "-p", f"mesh_scale:={mesh_scale}"]
    if params_file is not None:
        arguments += ["--params-file", str(params_file)]
    for param in params:
        arguments += ["-p", param]
    for name, topic in plan.inputs.items():
        arguments += ["-r", f"{name}:={topic}"]
    return arguments
