"""Visible surfaces: the drawn pixels of crop renderings, frozen in the object frame."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_torch_rasterizer import MESH, MODEL, K, random_poses  # noqa: E402

from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics  # noqa: E402
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer  # noqa: E402
from fpose_ros.core.rendering.visible_surface import render_visible_surface, silhouette_interior  # noqa: E402

S = 48


def test_surface_holds_exactly_the_drawn_pixels_in_the_object_frame():
    T = random_poses(3, seed=5)
    surface = render_visible_surface(TorchRasterizer(), MESH, T, K, MODEL.diameter, 1.2, S)
    out = TorchRasterizer().render(MESH, T, crop_intrinsics(K, crop_affine(T, K, MODEL.diameter, 1.2, S)), S, S)
    counts = out.mask.reshape(3, -1).sum(-1)
    assert torch.equal(surface.valid.sum(-1), counts)
    assert surface.points.shape[1] == int(counts.max())
    for i in range(3):
        drawn = out.mask[i].reshape(-1)
        n = int(counts[i])
        # Moved back by the pose they were rendered at, the points are the rendering's, in pixel order.
        torch.testing.assert_close(surface.points_in_camera(T)[i, :n], out.xyz[i].reshape(-1, 3)[drawn],
                                   atol=1e-5, rtol=0)
        torch.testing.assert_close(surface.rgb[i, :n], out.rgb[i].reshape(-1, 3)[drawn])
        interior = silhouette_interior(out.mask)[i].reshape(-1)[drawn]
        assert torch.equal(surface.interior[i, :n], interior) and 0 < int(interior.sum()) < n
        normals_cam = surface.normals[i, :n] @ T[i, :3, :3].T
        torch.testing.assert_close(normals_cam, out.normals[i].reshape(-1, 3)[drawn], atol=1e-5, rtol=0)
    torch.testing.assert_close(surface.crop_scale, crop_affine(T, K, MODEL.diameter, 1.2, S)[:, 0, 0])


def test_a_moved_pose_carries_the_surface_rigidly():
    T = random_poses(1, seed=6)
    surface = render_visible_surface(TorchRasterizer(), MESH, T, K, MODEL.diameter, 1.2, S)
    moved = T.clone()
    moved[:, :3, 3] += torch.tensor([0.01, -0.02, 0.03])
    shift = surface.points_in_camera(moved) - surface.points_in_camera(T)
    expected = torch.tensor([0.01, -0.02, 0.03]).expand(int(surface.valid.sum()), 3)
    torch.testing.assert_close(shift[surface.valid], expected)
