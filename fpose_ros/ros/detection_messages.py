"""vision_msgs in and out: a detector's boxes (``Detection2DArray``) and the poses as ``Detection3DArray``.

Pure conversions, no node state. Field use of the ``Detection3D`` the node publishes per tracked object
(docs/ros_interface.md compares it with Isaac ROS FoundationPose):

* ``header``: the colour image's (stamp and optical frame);
* ``results[0].hypothesis``: the object's ``class_id`` and the pose's score (geometric scorer: 0-1);
* ``results[0].pose.pose``: the mesh file's frame in the camera frame (the same pose as ``pose`` and
  ``/tf``); covariance all zero (the engine estimates none);
* ``bbox``: the mesh's axis-aligned bounding box: ``center`` its centre, along the mesh axes, ``size`` its
  extents, metres;
* ``id``: the object's TF frame, the same for the object on every frame.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import PoseWithCovariance, Vector3
from std_msgs.msg import Header
from vision_msgs.msg import (
    BoundingBox2D,
    BoundingBox3D,
    Detection2D,
    Detection2DArray,
    Detection3D,
    Detection3DArray,
    ObjectHypothesis,
    ObjectHypothesisWithPose,
    Point2D,
    Pose2D,
)

from fpose_ros.core.box_mask import PixelBox
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.ros.pose_conversion import pose_from_matrix


@dataclass(frozen=True)
class MeshBox:
    """A mesh's axis-aligned bounding box in its own frame.

    Attributes:
        T_obj_box: (4, 4) float64, the box centre in the mesh file's frame (a translation).
        size: (3,) float64 extents along the mesh's x, y, z, metres.
    """

    T_obj_box: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, model: ObjectModel) -> MeshBox:
        """The box of ``model``'s vertices (its centred frame is the box centre, see object_model)."""
        extents = np.ptp(model.vertices.astype(np.float64), axis=0)
        return cls(T_obj_box=np.linalg.inv(model.T_centered_mesh), size=extents)


def detection_3d(header: Header, T_cam_obj: np.ndarray, score: float, class_id: str, object_id: str,
                 box: MeshBox) -> Detection3D:
    """One tracked object as a ``Detection3D`` (field use: see the module docstring).

    Args:
        header: the colour image's header.
        T_cam_obj: (4, 4) pose of the mesh file's frame in the camera optical frame, metres.
        score: the pose's score.
        class_id: the object's detector class.
        object_id: the object's TF frame.
        box: the mesh's bounding box.
    """
    hypothesis = ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=class_id, score=float(score)),
                                          pose=PoseWithCovariance(pose=pose_from_matrix(T_cam_obj)))
    sx, sy, sz = (float(v) for v in box.size)
    bbox = BoundingBox3D(center=pose_from_matrix(T_cam_obj @ box.T_obj_box), size=Vector3(x=sx, y=sy, z=sz))
    return Detection3D(header=header, results=[hypothesis], bbox=bbox, id=object_id)


def detection_3d_array(header: Header, detections: list[Detection3D]) -> Detection3DArray:
    """The frame's detections (empty when no object has a pose) under the colour image's header."""
    return Detection3DArray(header=header, detections=detections)


@dataclass(frozen=True)
class BoxDetection:
    """A detector's box of one class, as a ``Detection2D`` carries it."""

    class_id: str
    score: float
    box: PixelBox


def detection_2d_array(header: Header, detections: Sequence[BoxDetection]) -> Detection2DArray:
    """What a box detector publishes for one image: a ``Detection2D`` per box, one hypothesis each."""
    return Detection2DArray(header=header, detections=[
        Detection2D(header=header, results=[ObjectHypothesisWithPose(
            hypothesis=ObjectHypothesis(class_id=d.class_id, score=float(d.score)))],
            bbox=BoundingBox2D(center=Pose2D(position=Point2D(x=float(d.box.center_u), y=float(d.box.center_v))),
                               size_x=float(d.box.width), size_y=float(d.box.height)))
        for d in detections])


def box_of_detection(detection: Detection2D) -> PixelBox:
    """The detection's box as an axis-aligned :class:`PixelBox`; a rotated box (``theta`` != 0) by its enclosing box.

    Raises:
        InputError: a box without a finite centre or a positive size.
    """
    bbox = detection.bbox
    cos, sin = abs(math.cos(bbox.center.theta)), abs(math.sin(bbox.center.theta))
    return PixelBox(center_u=bbox.center.position.x, center_v=bbox.center.position.y,
                    width=bbox.size_x * cos + bbox.size_y * sin, height=bbox.size_x * sin + bbox.size_y * cos)


@dataclass(frozen=True)
class DetectionChoice:
    """What one ``Detection2DArray`` holds for one object.

    Attributes:
        detection: the object's detection, or None when the array has none or several of its class.
        problem: why the array is not (only) the object's, for a status message; None when nothing is odd.
    """

    detection: Detection2D | None
    problem: str | None


def select_detection(array: Detection2DArray, class_id: str, known: Collection[str] = ()) -> DetectionChoice:
    """The detection of ``class_id`` in ``array``.

    The class of a detection is its best-scored hypothesis's. Detections of classes neither ``class_id`` nor
    in ``known`` (the node's other objects') are no object of the node's: they are ignored and named in
    ``problem``. Two or more detections of ``class_id`` leave the
    object without a detection (which one is it is not known); ``problem`` says so.
    """
    classes = [_best_class(d) for d in array.detections]
    mine = [d for d, c in zip(array.detections, classes, strict=True) if c == class_id]
    others = sorted({c for c in classes if c != class_id and c not in known})
    problems = []
    if len(mine) > 1:
        problems.append(f"{len(mine)} detections of class '{class_id}': none used (which one is the object?)")
    if others:
        problems.append(f"detections of class(es) {others} ignored: no object has that class_id")
    return DetectionChoice(mine[0] if len(mine) == 1 else None, "; ".join(problems) or None)


def _best_class(detection: Detection2D) -> str:
    """The class id of the detection's best-scored hypothesis; "" without hypotheses."""
    if not detection.results:
        return ""
    return max(detection.results, key=lambda r: r.hypothesis.score).hypothesis.class_id
