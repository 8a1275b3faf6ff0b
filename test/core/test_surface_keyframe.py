"""Tracking keyframes: a rendering is reused while the camera, seen from the object, barely moves."""

import numpy as np
import pytest
import torch
from geometry_helpers import pose_matrix as pose
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.visible_surface import VisibleSurface
from fpose_ros.core.surface_keyframe import KeyframeConfig, SurfaceKeyframe, camera_in_object

T0 = pose([0.3, -0.8, 0.2], [0.02, -0.01, 0.5])


def surface_at(T: np.ndarray) -> VisibleSurface:
    z, ones = torch.zeros(1, 4, 3), torch.ones(1, 4, dtype=torch.bool)
    return VisibleSurface(points=z, normals=z, rgb=z, grad=z[..., :2], valid=ones, interior=ones,
                          T_cam_centered=torch.as_tensor(T, dtype=torch.float32)[None], crop_scale=torch.ones(1),
                          diameter=0.1, crop_ratio=1.2, crop_size=8)


def keyframe(deg: float = 4.0) -> SurfaceKeyframe:
    k = SurfaceKeyframe(KeyframeConfig(max_view_change_deg=deg))
    k.store(surface_at(T0))
    return k


def about_viewing_ray(angle: float) -> np.ndarray:
    """T0 turned by ``angle`` about the camera ray through the object's centre (same view of the object)."""
    ray = T0[:3, 3] / np.linalg.norm(T0[:3, 3])
    T = T0.copy()
    T[:3, :3] = Rotation.from_rotvec(angle * ray).as_matrix() @ T0[:3, :3]
    return T


def test_turning_about_the_viewing_ray_or_a_small_turn_keeps_the_keyframe():
    k = keyframe()
    assert k.lookup(T0) is not None
    assert k.lookup(about_viewing_ray(1.0)) is not None  # 57 deg in-plane: the same surface is seen
    turned = T0.copy()
    turned[:3, :3] = Rotation.from_rotvec([0.0, np.radians(3.0), 0.0]).as_matrix() @ T0[:3, :3]
    assert k.lookup(turned) is not None


def test_a_larger_turn_a_sideways_move_or_a_distance_change_renders_again():
    k = keyframe()
    turned = T0.copy()
    turned[:3, :3] = Rotation.from_rotvec([0.0, np.radians(5.0), 0.0]).as_matrix() @ T0[:3, :3]
    assert k.lookup(turned) is None
    sideways = T0.copy()
    sideways[0, 3] += 0.05  # 5.7 deg of view direction at 0.5 m
    assert k.lookup(sideways) is None
    assert (k.lookups, k.hits) == (2, 0)


def test_counts_lookups_and_hits():
    k = keyframe()
    k.lookup(T0)
    k.lookup(about_viewing_ray(0.5))
    far = T0.copy()
    far[:3, 3] *= 1.2
    k.lookup(far)
    assert (k.lookups, k.hits) == (3, 2)
    farther = T0.copy()
    farther[:3, 3] *= 1.06
    assert k.lookup(farther) is None
    assert np.isclose(np.linalg.norm(camera_in_object(farther)), 1.06 * np.linalg.norm(T0[:3, 3]))


def test_zero_degrees_never_reuses_and_clear_forgets():
    assert keyframe(0.0).lookup(T0) is None
    k = keyframe()
    k.clear()
    assert k.lookup(T0) is None


def test_non_finite_poses_are_not_kept_and_batches_are_refused():
    k = keyframe()
    k.store(surface_at(np.full((4, 4), np.nan)))
    assert k.lookup(T0) is None
    batch = surface_at(T0)
    two = VisibleSurface(**{**batch.__dict__, "points": torch.zeros(2, 4, 3)})
    with pytest.raises(ValueError):
        k.store(two)
    with pytest.raises(ConfigError):
        KeyframeConfig(max_view_change_deg=90.0)
