"""Tracking finds a slide that depth cannot see (a box edge-on, two faces in view) by the score."""

import numpy as np
import pytest
from engine_frames import frame_at
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.object_model import object_model_from_trimesh
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.synthetic.textured_objects import textured_mesh

CAMERA = CameraIntrinsics(fx=600.0, fy=600.0, cx=159.5, cy=119.5, width=320, height=240)


@pytest.fixture(scope="module")
def box():
    """The printed sugar box (9 x 17.5 x 4.5 cm) and engines with and without the slide search."""
    model = object_model_from_trimesh(textured_mesh("sugar_box"), name="sugar_box")
    return model, build_estimator(model, EstimatorConfig()), build_estimator(model, EstimatorConfig(slide_track_m=0.0))


def edge_on() -> np.ndarray:
    """The box 0.45 m away, its 4.5 cm axis (z) across the image, its +x and +y faces towards the camera.

    No visible face has a normal with a part along z: depth cannot tell where along z the box is.
    """
    T = np.eye(4)
    T[:3, :3] = (Rotation.from_euler("y", 90, degrees=True) * Rotation.from_euler("z", 45, degrees=True)).as_matrix()
    T[:3, 3] = [0.0, 0.0, 0.45]
    return T


def slid(T: np.ndarray, metres: float) -> np.ndarray:
    """``T`` moved ``metres`` along the box's own z axis."""
    out = T.copy()
    out[:3, 3] += T[:3, 2] * metres
    return out


def z_error_mm(T: np.ndarray, T_true: np.ndarray) -> float:
    return abs(float(np.linalg.solve(T_true, T)[2, 3])) * 1e3


@pytest.mark.parametrize("off_m", [-0.003, 0.003])
def test_tracking_slides_back_where_depth_cannot_see(box, off_m):
    _, with_search, without = box
    T_true = edge_on()
    previous = PoseResult(T_cam_obj=None, T_cam_centered=slid(T_true, off_m), score=1.0, mode=TrackingMode.TRACKING)
    frame = frame_at(with_search, T_true, CAMERA)
    found = with_search.track(frame, previous)
    stayed = without.track(frame, previous)
    assert found.has_pose and stayed.has_pose
    assert z_error_mm(stayed.T_cam_centered, T_true) > 2.0  # the depth fit leaves the slide where it started
    assert z_error_mm(found.T_cam_centered, T_true) < 1.0


def test_a_pose_depth_fixes_is_not_slid(box):
    _, with_search, _ = box
    T_true = edge_on()
    T_true[:3, :3] = Rotation.from_euler("xyz", [30, -40, 20], degrees=True).as_matrix()  # three faces in view
    previous = PoseResult(T_cam_obj=None, T_cam_centered=T_true, score=1.0, mode=TrackingMode.TRACKING)
    result = with_search.track(frame_at(with_search, T_true, CAMERA), previous)
    assert np.abs(result.T_cam_centered[:3, 3] - T_true[:3, 3]).max() < 1e-3
