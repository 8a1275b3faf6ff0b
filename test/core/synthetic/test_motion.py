"""Motion presets respect their speed limits."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fpose_ros.core.synthetic.motion import PRESETS, trajectory


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_speed_limits(name):
    preset = PRESETS[name]
    start = np.eye(4)
    start[2, 3] = 0.6
    poses = trajectory(preset, 300, 30.0, start, np.random.default_rng(0))
    linear = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1) * 30.0
    rel = np.einsum("nij,nkj->nik", poses[1:, :3, :3], poses[:-1, :3, :3])
    angular = np.degrees(np.linalg.norm(Rotation.from_matrix(rel).as_rotvec(), axis=1)) * 30.0
    assert linear.max() <= preset.linear_mps * 1.02 + 1e-9
    assert angular.max() <= preset.angular_dps * 1.05 + 1e-9
    if preset.linear_mps > 0:
        assert linear.max() > 0.3 * preset.linear_mps  # it does move
    # Stays in front of the camera, within reach of the view.
    assert np.abs(poses[:, :2, 3]).max() < 0.25 and poses[:, 2, 3].min() > 0.3
