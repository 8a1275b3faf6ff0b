"""Projection and back-projection are inverse to each other and follow the pixel-centre convention."""

import pytest
import torch
from geometry_helpers import project_points

from fpose_ros.core.backprojection import backproject_depth
from fpose_ros.core.errors import InputError

K = torch.tensor([[500.0, 0.0, 319.5], [0.0, 480.0, 239.5], [0.0, 0.0, 1.0]])


def test_backprojection_by_hand():
    depth = torch.zeros(3, 4)
    depth[2, 3] = 2.0
    K_small = torch.tensor([[100.0, 0.0, 1.0], [0.0, 50.0, 1.0], [0.0, 0.0, 1.0]])
    xyz = backproject_depth(depth, K_small)
    assert xyz.shape == (3, 4, 3)
    torch.testing.assert_close(xyz[2, 3], torch.tensor([(3 - 1) * 2.0 / 100, (2 - 1) * 2.0 / 50, 2.0]))
    assert bool((xyz[depth == 0] == 0).all())


def test_round_trip_with_skewed_batched_cameras():
    g = torch.Generator().manual_seed(0)
    depth = 0.3 + torch.rand(2, 5, 7, generator=g)
    Ks = torch.stack([K, torch.tensor([[300.0, 2.0, 3.0], [0.0, 310.0, 2.5], [0.0, 0.0, 1.0]])])
    xyz = backproject_depth(depth, Ks)
    assert xyz.shape == (2, 5, 7, 3)
    torch.testing.assert_close(xyz[..., 2], depth)
    uv = project_points(xyz.reshape(2, -1, 3), Ks)
    v, u = torch.meshgrid(torch.arange(5.0), torch.arange(7.0), indexing="ij")
    expected = torch.stack([u, v], dim=-1).reshape(1, -1, 2).expand(2, -1, -1)
    torch.testing.assert_close(uv, expected, atol=1e-4, rtol=0)


def test_projection_by_hand_and_points_behind_the_camera():
    points = torch.tensor([[0.1, -0.2, 2.0], [0.0, 0.0, -1.0], [0.3, 0.3, 0.0]])
    uv = project_points(points, K)
    torch.testing.assert_close(uv[0], torch.tensor([500 * 0.05 + 319.5, 480 * -0.1 + 239.5]))
    assert bool(uv[1:].isnan().all())


def test_bad_shapes_raise():
    with pytest.raises(InputError):
        backproject_depth(torch.zeros(4), K)
    with pytest.raises(InputError):
        backproject_depth(torch.zeros(4, 4), torch.eye(4))
