"""Pose-conditioned crops: the affine, the crop camera M @ K, and resampling with pixel-centre conventions."""

import pytest
import torch
from geometry_helpers import project_points

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.pose_conditioned_crop import CropConfig, crop_affine, crop_intrinsics, warp_to_crop
from fpose_ros.core.transforms import make_transform, so3_exp

H, W = 48, 64
K = torch.tensor([[60.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]])  # fx > fy on purpose
DIAMETER = 0.1


def _poses(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    R = so3_exp(torch.randn(n, 3, generator=g))
    t = torch.stack([0.15 * torch.randn(n, generator=g), 0.1 * torch.randn(n, generator=g),
                     0.4 + 0.6 * torch.rand(n, generator=g)], dim=1)
    return make_transform(R, t)


def _apply(M: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) affines on (B, N, 2) pixels."""
    return uv @ M[:, :2, :2].transpose(1, 2) + M[:, None, :2, 2]


def test_crop_camera_equals_projection_then_affine():
    T = _poses(6)
    M = crop_affine(T, K, DIAMETER)
    points = T[:, None, :3, 3] + 0.05 * torch.randn(6, 20, 3, generator=torch.Generator().manual_seed(1))
    K_crop = crop_intrinsics(K, M)
    assert K_crop.shape == (6, 3, 3)
    torch.testing.assert_close(project_points(points, K_crop), _apply(M, project_points(points, K)), atol=1e-3, rtol=0)
    torch.testing.assert_close(crop_intrinsics(K.expand(6, 3, 3), M), K_crop)


def test_object_centre_lands_at_crop_centre_and_window_fits_the_sphere():
    out = 160
    T = _poses(8)
    M = crop_affine(T, K, DIAMETER, crop_ratio=1.2, out_size=out)
    r = DIAMETER * 1.2 / 2
    centre = _apply(M, project_points(T[:, None, :3, 3], K))[:, 0]
    torch.testing.assert_close(centre, torch.full((8, 2), (out - 1) / 2), atol=1e-3, rtol=0)
    axes = r * torch.tensor([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])
    extremes = _apply(M, project_points(T[:, None, :3, 3] + axes, K))  # (8, 4, 2)
    assert bool((extremes >= -0.5 - 1e-3).all() and (extremes <= out - 0.5 + 1e-3).all())
    # fx > fy: the +/- x points touch the left and right edges of the crop exactly.
    torch.testing.assert_close(extremes[:, 0, 0], torch.full((8,), out - 0.5), atol=1e-3, rtol=0)
    torch.testing.assert_close(extremes[:, 1, 0], torch.full((8,), -0.5), atol=1e-3, rtol=0)
    assert bool(((extremes[:, 2:, 1] - (out - 1) / 2).abs() < (out / 2) * 50 / 60 + 1e-3).all())


def test_scale_follows_distance_and_uses_the_larger_focal_length():
    T = _poses(4)
    M = crop_affine(T, K, DIAMETER, crop_ratio=1.1, out_size=100)
    expected = 100 * T[:, 2, 3] / (DIAMETER * 1.1 * 60.0)
    torch.testing.assert_close(M[:, 0, 0], expected)
    torch.testing.assert_close(M[:, 1, 1], expected)
    assert torch.equal(M[:, 2], torch.tensor([0.0, 0.0, 1.0]).expand(4, 3))


def test_window_half_size_is_the_largest_offset_of_the_four_points_with_a_skewed_camera():
    K_skew = torch.tensor([[60.0, 70.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]])  # |skew| > fx, fy
    T = _poses(5, seed=3)
    M = crop_affine(T, K_skew, DIAMETER, crop_ratio=1.2, out_size=64)
    r = DIAMETER * 1.2 / 2
    axes = r * torch.tensor([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])
    centre = project_points(T[:, None, :3, 3], K_skew)
    half = (project_points(T[:, None, :3, 3] + axes, K_skew) - centre).abs().amax(dim=(1, 2))
    torch.testing.assert_close(M[:, 0, 0], 64 / (2 * half))
    torch.testing.assert_close(_apply(M, centre)[:, 0], torch.full((5, 2), 31.5), atol=1e-3, rtol=0)


def test_pose_behind_the_camera_gives_a_finite_window():
    T = make_transform(torch.eye(3)[None], torch.tensor([[0.0, 0.0, -0.5]]))
    assert torch.isfinite(crop_affine(T, K, DIAMETER)).all()


def _inverse_pixels(M: torch.Tensor, out: int) -> torch.Tensor:
    """(B, out, out, 2) image pixel (u, v) sampled by each crop pixel."""
    j = torch.arange(out, dtype=torch.float64)
    v, u = torch.meshgrid(j, j, indexing="ij")
    crop = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # (out, out, 3)
    return (crop @ torch.linalg.inv(M.double()).transpose(1, 2)[:, None])[..., :2]


def test_bilinear_warp_matches_the_pattern_at_inverse_mapped_pixels():
    out = 32
    T = make_transform(torch.eye(3).expand(3, 3, 3), torch.tensor([[0.0, 0.0, 0.5], [0.28, 0.1, 0.6], [-0.5, 0, 0.9]]))
    M = crop_affine(T, K, DIAMETER, out_size=out)
    v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    image = torch.stack([0.01 * u + 0.02 * v + 1.0, 3.0 - 0.03 * u], dim=-1)  # linear: bilinear is exact
    crops = warp_to_crop(image, M, out, mode="bilinear")
    assert crops.shape == (3, out, out, 2)
    q = _inverse_pixels(M, out).float()
    expected = torch.stack([0.01 * q[..., 0] + 0.02 * q[..., 1] + 1.0, 3.0 - 0.03 * q[..., 0]], dim=-1)
    interior = (q[..., 0] >= 0) & (q[..., 0] <= W - 1) & (q[..., 1] >= 0) & (q[..., 1] <= H - 1)
    # Bilinear fades to zero padding over the pixel beyond the outermost pixel centres.
    outside = (q[..., 0] <= -1) | (q[..., 0] >= W) | (q[..., 1] <= -1) | (q[..., 1] >= H)
    assert interior.any() and outside.any()  # the second and third crops leave the image
    torch.testing.assert_close(crops[interior], expected[interior], atol=1e-4, rtol=0)
    assert bool((crops[outside] == 0).all())


def test_nearest_warp_copies_exact_values_of_the_nearest_pixel():
    out = 40
    T = _poses(5, seed=3)
    M = crop_affine(T, K, DIAMETER, out_size=out)
    image = torch.rand(H, W, generator=torch.Generator().manual_seed(2)) + 0.5
    crops = warp_to_crop(image, M, out, mode="nearest")
    assert crops.shape == (5, out, out)
    q = _inverse_pixels(M, out)
    rounded = q.round()
    inside = (rounded[..., 0] >= 0) & (rounded[..., 0] < W) & (rounded[..., 1] >= 0) & (rounded[..., 1] < H)
    unambiguous = ((q - q.floor() - 0.5).abs() > 1e-3).all(-1)  # away from rounding ties
    keep = inside & unambiguous
    rows, cols = rounded[..., 1][keep].long(), rounded[..., 0][keep].long()
    assert torch.equal(crops[keep], image[rows, cols])
    assert bool((crops[~inside] == 0).all())


def test_batched_equals_one_by_one_across_chunks():
    T = _poses(45, seed=4)  # 45 crops of 160 x 160 span two internal chunks
    M = crop_affine(T, K, DIAMETER)
    image = torch.rand(H, W, 3, generator=torch.Generator().manual_seed(5))
    crops = warp_to_crop(image, M)
    for b in (0, 39, 40, 44):
        torch.testing.assert_close(crops[b : b + 1], warp_to_crop(image, M[b : b + 1]), atol=0, rtol=0)
    per_crop = warp_to_crop(image.expand(45, H, W, 3), M)
    torch.testing.assert_close(per_crop, crops, atol=1e-6, rtol=0)


def test_config_and_bad_input():
    assert CropConfig() == CropConfig(crop_ratio=1.2, out_size=160)
    with pytest.raises(ConfigError):
        CropConfig(out_size=0)
    with pytest.raises(ConfigError):
        crop_affine(_poses(1), K, DIAMETER, crop_ratio=-1.0)
    M = crop_affine(_poses(2), K, DIAMETER)
    with pytest.raises(ConfigError):
        warp_to_crop(torch.zeros(H, W), M, mode="bicubic")
    with pytest.raises(InputError):
        warp_to_crop(torch.zeros(H, W, dtype=torch.uint8), M)
    with pytest.raises(InputError):
        warp_to_crop(torch.zeros(3, H, W, 1), M)
