"""Rotation hypotheses (icosphere x in-plane) and the mask + median-depth translation guess."""

import numpy as np
import pytest
import torch

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.hypotheses import IcosphereHypotheses, hypothesis_poses, initial_translation, view_rotations
from fpose_ros.core.transforms import rotation_angle


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def test_default_gives_252_proper_rotations():
    R = IcosphereHypotheses().rotations()
    assert R.shape == (252, 3, 3) and R.dtype == torch.float32
    eye = torch.eye(3).expand(252, 3, 3)
    torch.testing.assert_close(R @ R.transpose(1, 2), eye, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(252), atol=1e-5, rtol=0)


def test_viewpoints_cover_the_sphere_uniformly():
    views = IcosphereHypotheses().viewpoints()
    assert views.shape == (42, 3)
    np.testing.assert_allclose(np.linalg.norm(views, axis=1), 1.0, atol=1e-12)
    cos = views @ views.T
    np.fill_diagonal(cos, -1.0)
    min_separation = np.degrees(np.arccos(cos.max()))
    probe = _fibonacci_sphere(5000)
    max_gap = np.degrees(np.arccos((probe @ views.T).max(axis=1).min()))
    assert min_separation > 25.0  # neighbouring vertices of a 42-vertex icosphere are ~31.7 deg apart
    assert max_gap < 21.5  # covering radius: a face centre is ~20.9 deg from its corners


def test_every_rotation_is_distinct():
    R = IcosphereHypotheses().rotations().double()
    angles = torch.rad2deg(rotation_angle(R[:, None] @ R[None].transpose(-1, -2)))
    angles += 360.0 * torch.eye(len(R), dtype=R.dtype)
    assert float(angles.min()) > 15.0


def test_camera_z_axis_points_at_the_object_centre():
    hyps = IcosphereHypotheses()
    views = torch.as_tensor(hyps.viewpoints(), dtype=torch.float32)
    R = hyps.rotations().view(42, 6, 3, 3)
    # The view direction (object -> camera) maps to -z in the camera: the camera looks at the centre.
    towards_camera = (R @ views[:, None, :, None])[..., 0]
    torch.testing.assert_close(towards_camera, torch.tensor([0.0, 0.0, -1.0]).expand(42, 6, 3), atol=1e-5, rtol=0)
    # Seen from a camera at distance 0.5 m along the viewpoint, the object centre is straight ahead.
    t = -(R @ (0.5 * views[:, None, :, None]))[..., 0]
    torch.testing.assert_close(t, torch.tensor([0.0, 0.0, 0.5]).expand(42, 6, 3), atol=1e-5, rtol=0)


def test_inplane_rotations_are_about_the_camera_z_axis():
    R = IcosphereHypotheses().rotations().double().view(42, 6, 3, 3)
    relative = R @ R[:, :1].transpose(-1, -2)  # R_i R_0^T: rotation in the camera frame
    torch.testing.assert_close(relative[..., 2, :], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(42, 6, 3),
                               atol=1e-6, rtol=0)
    angles = torch.rad2deg(rotation_angle(relative[0]))
    torch.testing.assert_close(angles, torch.tensor([0.0, 60, 120, 180, 120, 60], dtype=torch.float64), atol=0.05,
                               rtol=0)


def test_x_axis_is_horizontal_and_poles_use_another_up_vector():
    R = view_rotations(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.eye(3)[None].repeat(3, 0), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    assert abs(R[2, 0, 2]) < 1e-12  # camera x has no component along the object's up (0, 0, 1)


def test_config_controls_counts():
    assert IcosphereHypotheses(min_views=12, inplane_step_deg=90).rotations().shape == (48, 3, 3)
    assert IcosphereHypotheses(min_views=43, inplane_step_deg=360).rotations().shape == (162, 3, 3)
    with pytest.raises(ConfigError):
        IcosphereHypotheses(min_views=0)
    with pytest.raises(ConfigError):
        IcosphereHypotheses(inplane_step_deg=0)


K = torch.tensor([[500.0, 0.0, 32.0], [0.0, 480.0, 24.0], [0.0, 0.0, 1.0]])


def test_initial_translation_back_projects_bbox_centre_at_median_depth():
    depth = torch.zeros(48, 64)
    mask = torch.zeros(48, 64, dtype=torch.bool)
    mask[10:21, 30:45] = True  # bbox centre (u, v) = (37, 15)
    depth[mask] = 0.7
    depth[12, 31:35] = torch.tensor([0.6, 0.65, 0.75, 0.8])
    depth[20, 40] = 0.0  # invalid pixels inside the mask are ignored
    depth[0:5, 0:5] = 0.1  # depth outside the mask is ignored
    t = initial_translation(depth, mask, K)
    z = torch.quantile(depth[mask & (depth > 0)], 0.5)
    torch.testing.assert_close(t, torch.stack([(37 - 32) * z / 500, (15 - 24) * z / 480, z]))
    assert float(z) == pytest.approx(0.7)


def test_initial_translation_uses_the_mean_of_middle_values_for_even_counts():
    depth = torch.zeros(48, 64)
    mask = torch.zeros(48, 64, dtype=torch.bool)
    mask[5, 10:14] = True
    depth[5, 10:14] = torch.tensor([0.5, 0.6, 0.8, 0.9])
    assert float(initial_translation(depth, mask, K)[2]) == pytest.approx(0.7)


def test_initial_translation_none_without_enough_depth():
    depth = torch.zeros(48, 64)
    mask = torch.zeros(48, 64, dtype=torch.bool)
    assert initial_translation(depth, mask, K) is None
    mask[10:20, 10:20] = True
    assert initial_translation(depth, mask, K) is None
    depth[10, 10:13] = 0.5
    assert initial_translation(depth, mask, K) is None  # 3 < min_valid
    depth[11, 10] = float("nan")
    assert initial_translation(depth, mask, K) is None  # NaN is not valid depth
    depth[12, 10] = 0.5
    assert initial_translation(depth, mask, K) is not None
    with pytest.raises(InputError):
        initial_translation(depth, mask[:-1], K)


def test_hypothesis_poses():
    R = IcosphereHypotheses().rotations()
    t = torch.tensor([0.1, -0.2, 0.9])
    T = hypothesis_poses(R, t)
    assert T.shape == (252, 4, 4)
    assert torch.equal(T[:, :3, :3], R)
    assert torch.equal(T[:, :3, 3], t.expand(252, 3))
    assert torch.equal(T[:, 3], torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(252, 4))
