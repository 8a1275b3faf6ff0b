"""vision_msgs conversions: Detection3D field use, 2D boxes in, choosing the object's detection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from builtin_interfaces.msg import Time
from std_msgs.msg import Header
from vision_msgs.msg import (
    BoundingBox2D,
    Detection2D,
    Detection2DArray,
    ObjectHypothesis,
    ObjectHypothesisWithPose,
    Point2D,
    Pose2D,
)

from fpose_ros.core.errors import InputError
from fpose_ros.core.object_model import object_model_from_trimesh
from fpose_ros.ros.detection_messages import (
    MeshBox,
    box_of_detection,
    detection_3d,
    detection_3d_array,
    select_detection,
)
from fpose_ros.ros.pose_conversion import matrix_from_pose


def detection(class_scores: dict[str, float], u: float = 50.0, v: float = 40.0, w: float = 20.0, h: float = 10.0,
              theta: float = 0.0) -> Detection2D:
    results = [ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=c, score=s))
               for c, s in class_scores.items()]
    bbox = BoundingBox2D(center=Pose2D(position=Point2D(x=u, y=v), theta=theta), size_x=w, size_y=h)
    return Detection2D(results=results, bbox=bbox)


def test_detection_3d_carries_pose_score_class_and_the_mesh_box() -> None:
    # A box mesh whose file origin is a corner: the bbox centre is not the pose's origin.
    mesh = trimesh.creation.box(extents=(0.10, 0.06, 0.04))
    mesh.apply_translation((0.05, 0.03, 0.02))
    model = object_model_from_trimesh(mesh, name="brick")
    box = MeshBox.of(model)
    np.testing.assert_allclose(box.size, (0.10, 0.06, 0.04), atol=1e-6)
    R = trimesh.transformations.rotation_matrix(math.pi / 2, (0, 0, 1))[:3, :3]
    T_cam_obj = np.eye(4)
    T_cam_obj[:3, :3], T_cam_obj[:3, 3] = R, (0.1, -0.2, 0.8)
    header = Header(stamp=Time(sec=12, nanosec=345), frame_id="camera_color_optical_frame")

    det = detection_3d(header, T_cam_obj, 0.87, "brick_class", "brick", box)

    assert det.header == header and det.id == "brick"
    (result,) = det.results
    assert result.hypothesis.class_id == "brick_class" and result.hypothesis.score == pytest.approx(0.87)
    np.testing.assert_allclose(matrix_from_pose(result.pose.pose), T_cam_obj, atol=1e-9)
    assert not any(result.pose.covariance)
    # Box centre: the mesh's (0.05, 0.03, 0.02), rotated 90 deg about z -> (-0.03, 0.05, 0.02) in the camera.
    T_cam_box = matrix_from_pose(det.bbox.center)
    np.testing.assert_allclose(T_cam_box[:3, 3], (0.1 - 0.03, -0.2 + 0.05, 0.8 + 0.02), atol=1e-6)
    np.testing.assert_allclose(T_cam_box[:3, :3], R, atol=1e-9)
    assert (det.bbox.size.x, det.bbox.size.y, det.bbox.size.z) == pytest.approx((0.10, 0.06, 0.04), abs=1e-6)

    array = detection_3d_array(header, [det])
    assert array.header == header and list(array.detections) == [det]


def test_box_of_detection_axis_aligned_and_rotated() -> None:
    box = box_of_detection(detection({"cup": 1.0}, u=50, v=40, w=20, h=10))
    assert (box.center_u, box.center_v, box.width, box.height) == (50, 40, 20, 10)
    rotated = box_of_detection(detection({"cup": 1.0}, w=20, h=10, theta=math.pi / 2))
    assert (rotated.width, rotated.height) == pytest.approx((10, 20))
    with pytest.raises(InputError):
        box_of_detection(detection({"cup": 1.0}, w=0.0))


def test_select_detection_by_best_hypothesis_class() -> None:
    cup = detection({"cup": 0.9, "bowl": 0.2})
    bowl_first = detection({"cup": 0.3, "bowl": 0.8})
    choice = select_detection(Detection2DArray(detections=[bowl_first, cup]), "cup")
    assert choice.detection is cup
    assert "['bowl']" in choice.problem and "ignored" in choice.problem

    only = select_detection(Detection2DArray(detections=[cup]), "cup")
    assert only.detection is cup and only.problem is None


def test_select_detection_refuses_duplicates_and_reports_absent_class() -> None:
    twice = select_detection(Detection2DArray(detections=[detection({"cup": 0.9}), detection({"cup": 0.7})]), "cup")
    assert twice.detection is None and "2 detections of class 'cup'" in twice.problem
    none = select_detection(Detection2DArray(detections=[detection({"bowl": 0.9})]), "cup")
    assert none.detection is None and "bowl" in none.problem
    empty = select_detection(Detection2DArray(), "cup")
    assert empty.detection is None and empty.problem is None
