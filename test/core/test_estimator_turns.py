"""The engine finds the turn of a labelled can about its axis, which depth alone cannot see."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import object_model_from_trimesh
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.synthetic.textured_objects import textured_mesh

CAMERA = CameraIntrinsics(fx=600.0, fy=600.0, cx=159.5, cy=119.5, width=320, height=240)


@pytest.fixture(scope="module")
def can():
    model = object_model_from_trimesh(textured_mesh("soup_can"), name="soup_can")
    return model, build_estimator(model, EstimatorConfig(spin_full_every=0))


def frame_at(estimator, T: np.ndarray) -> RGBDFrame:
    """The can drawn by the engine's renderer at ``T`` (centred frame), in front of a wall."""
    with torch.inference_mode():
        out = estimator.renderer.render(MeshTensors.from_object_model(estimator.render_model, estimator.device),
                                        torch.as_tensor(T, dtype=torch.float32)[None],
                                        CAMERA.matrix_tensor(estimator.device), CAMERA.height, CAMERA.width)
    mask = out.mask[0].numpy()
    depth = np.where(mask, out.depth[0].numpy(), 0.8).astype(np.float32)
    rgb = np.where(mask[..., None], out.rgb[0].numpy() * 255, 90).astype(np.uint8)
    return RGBDFrame(rgb, depth, CAMERA)


def can_pose(turn_deg: float) -> np.ndarray:
    """The can 0.4 m away, its axis tilted 60 deg towards the camera, turned ``turn_deg`` about its axis."""
    T = np.eye(4)
    T[:3, :3] = (Rotation.from_euler("x", -60, degrees=True) * Rotation.from_euler("z", turn_deg, degrees=True)
                 ).as_matrix()
    T[:3, 3] = [0.0, 0.0, 0.4]
    return T


def turn_error_deg(T: np.ndarray, T_true: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(Rotation.from_matrix(T_true[:3, :3].T @ T[:3, :3]).as_rotvec())))


def test_the_can_has_an_axis_of_revolution(can):
    _, estimator = can
    assert estimator.spin_axis is not None and abs(estimator.spin_axis.direction[2]) > 0.999


@pytest.mark.parametrize("off_deg", [-8.0, 7.0])
def test_tracking_turns_back_to_the_print(can, off_deg):
    _, estimator = can
    T_true = can_pose(30.0)
    previous = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(30.0 + off_deg), score=1.0,
                          mode=TrackingMode.TRACKING)
    result = estimator.track(frame_at(estimator, T_true), previous)
    assert result.has_pose and turn_error_deg(result.T_cam_centered, T_true) < 2.5


def test_tracking_without_the_turn_search_stays_where_it_started(can):
    model, _ = can
    estimator = build_estimator(model, EstimatorConfig(spin_track_deg=0.0))
    T_true = can_pose(30.0)
    previous = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(38.0), score=1.0, mode=TrackingMode.TRACKING)
    result = estimator.track(frame_at(estimator, T_true), previous)
    assert turn_error_deg(result.T_cam_centered, T_true) > 5.0


def test_registration_finds_the_turn(can):
    _, estimator = can
    T_true = can_pose(130.0)
    frame = frame_at(estimator, T_true)
    result = estimator.register(frame, frame.depth < 0.7)
    assert result.has_pose and turn_error_deg(result.T_cam_centered, T_true) < 5.0
