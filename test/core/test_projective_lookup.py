"""Projective look-ups: nearest pixels of camera-frame points, values there, and the rays back."""

import torch
from geometry_helpers import project_points

from fpose_ros.core.backprojection import backproject_depth
from fpose_ros.core.projective_lookup import gather_pixels, pixel_rays, project_to_pixels

H, W = 30, 40
K = torch.tensor([[50.0, 2.0, 19.5], [0.0, 45.0, 14.5], [0.0, 0.0, 1.0]])  # with skew on purpose


def test_pixels_are_the_rounded_projections_and_inside_flags_the_image():
    g = torch.Generator().manual_seed(0)
    points = torch.stack([torch.randn(2, 200, generator=g) * 0.3, torch.randn(2, 200, generator=g) * 0.3,
                          torch.rand(2, 200, generator=g) * 2 - 0.5], dim=-1)  # some behind the camera
    hits = project_to_pixels(points, K, H, W)
    uv = project_points(points, K)
    expected_inside = (points[..., 2] > 1e-6) & (uv.round() >= 0).all(-1) & (uv[..., 0].round() <= W - 1) \
        & (uv[..., 1].round() <= H - 1)
    assert torch.equal(hits.inside, expected_inside)
    assert 0 < int(hits.inside.sum()) < hits.inside.numel()
    inside = hits.inside
    torch.testing.assert_close(hits.pixels[..., :2][inside], uv.round()[inside])
    assert torch.equal(hits.index[inside], (uv[..., 1].round() * W + uv[..., 0].round())[inside].long())
    assert bool((hits.index[~inside] == 0).all())


def test_gathered_values_are_the_images_and_zero_outside():
    image = torch.arange(H * W, dtype=torch.float32).reshape(H, W)
    colour = torch.stack([image, -image, 2 * image], dim=-1)
    points = torch.tensor([[[0.0, 0.0, 1.0], [10.0, 0.0, 1.0], [0.1, 0.05, -1.0]]])  # centre, off-image, behind
    hits = project_to_pixels(points, K, H, W)
    u, v = round(19.5), round(14.5)
    assert gather_pixels(image, hits).tolist() == [[v * W + u, 0.0, 0.0]]
    assert gather_pixels(colour, hits)[0, 0].tolist() == [v * W + u, -(v * W + u), 2 * (v * W + u)]
    assert gather_pixels(image > -1, hits).tolist() == [[True, False, False]]


def test_depth_times_ray_is_the_back_projected_point():
    g = torch.Generator().manual_seed(1)
    depth = 0.5 + torch.rand(H, W, generator=g)
    xyz = backproject_depth(depth, K)
    points = xyz.reshape(1, -1, 3) * 1.0005  # slightly off each pixel's point, same pixels
    hits = project_to_pixels(points, K, H, W)
    assert bool(hits.inside.all())
    observed = gather_pixels(depth, hits)[..., None] * pixel_rays(hits, torch.linalg.inv(K))
    torch.testing.assert_close(observed, xyz.reshape(1, -1, 3), atol=1e-5, rtol=1e-5)
