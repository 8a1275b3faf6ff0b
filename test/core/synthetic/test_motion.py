"""Motion presets respect their speed limits."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fpose_ros.core.synthetic.motion import PRESETS, MotionPreset, trajectory

_START = np.eye(4)
_START[2, 3] = 0.6


def _trajectory(preset: MotionPreset, n_frames: int) -> np.ndarray:
    """``n_frames`` poses at 30 Hz from 0.6 m straight ahead, seed 0."""
    return trajectory(preset, n_frames, 30.0, _START, np.random.default_rng(0))


def _speeds(poses: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear (m/s) and angular (deg/s) speed between consecutive poses."""
    linear = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1) * fps
    rel = np.einsum("nij,nkj->nik", poses[1:, :3, :3], poses[:-1, :3, :3])
    return linear, np.degrees(np.linalg.norm(Rotation.from_matrix(rel).as_rotvec(), axis=1)) * fps


@pytest.mark.parametrize("name", sorted(n for n, p in PRESETS.items() if not p.steady))
def test_speed_limits(name):
    preset = PRESETS[name]
    poses = _trajectory(preset, 300)
    linear, angular = _speeds(poses, 30.0)
    assert linear.max() <= preset.linear_mps * 1.02 + 1e-9
    assert angular.max() <= preset.angular_dps * 1.05 + 1e-9
    if preset.linear_mps > 0:
        assert linear.max() > 0.3 * preset.linear_mps  # it does move
    # Stays in front of the camera, within reach of the view.
    assert np.abs(poses[:, :2, 3]).max() < 0.25 and poses[:, 2, 3].min() > 0.3


@pytest.mark.parametrize("name", sorted(n for n, p in PRESETS.items() if p.steady))
def test_fly_through_moves_at_the_presets_speeds_from_the_first_frame(name):
    preset = PRESETS[name]
    poses = _trajectory(preset, 90)
    start = _START
    linear, angular = _speeds(poses, 30.0)
    np.testing.assert_allclose(linear, preset.linear_mps, rtol=1e-6)
    np.testing.assert_allclose(angular, preset.angular_dps, rtol=1e-6)
    # 3 s of it crosses the view's middle and stays within reach of the view.
    assert np.linalg.norm(poses[45, :3, 3] - start[:3, 3]) < 0.01
    assert np.abs(poses[:, :2, 3]).max() < 0.25 and poses[:, 2, 3].min() > 0.3
