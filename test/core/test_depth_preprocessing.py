"""Depth clean-up: compared with a direct per-pixel transcription of the definitions on small images."""

import math

import numpy as np
import pytest
import torch

from fpose_ros.core.depth_preprocessing import bilateral_filter_depth, clean_depth, erode_depth, sanitize_depth
from fpose_ros.core.errors import ConfigError, InputError


def _scene(seed: int, H: int = 18, W: int = 22) -> np.ndarray:
    """Three depth levels with ~0.5 mm noise, 15 % holes and a few NaNs: float32 metres."""
    rng = np.random.default_rng(seed)
    depth = np.full((H, W), 0.60, np.float32)
    depth[:, W // 3 :] = 0.52
    depth[H // 2 :, W // 2 :] = 0.50
    depth += rng.normal(0.0, 0.0005, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.15] = 0.0
    depth[rng.random((H, W)) < 0.02] = np.nan
    return depth


def _windows(H: int, W: int, i: int, j: int, r: int):
    for y in range(max(i - r, 0), min(i + r, H - 1) + 1):
        for x in range(max(j - r, 0), min(j + r, W - 1) + 1):
            yield y, x, y - i, x - j


def _erode_reference(d: np.ndarray, r: int = 2, thr: float = 0.001, ratio: float = 0.8) -> np.ndarray:
    H, W = d.shape
    out = np.zeros_like(d)
    for i in range(H):
        for j in range(W):
            c = d[i, j]
            if not c >= 0.001:
                continue
            total = bad = 0
            for y, x, _, _ in _windows(H, W, i, j, r):
                total += 1
                n = d[y, x]
                bad += (not n >= 0.001) or abs(np.float32(n - c)) > thr
            out[i, j] = 0.0 if bad / total > ratio else c
    return out


def _bilateral_reference(d: np.ndarray, r: int = 2, sigma: float = 2.0, gate: float = 0.01) -> np.ndarray:
    H, W = d.shape
    out = np.zeros((H, W), np.float64)
    for i in range(H):
        for j in range(W):
            window = [(d[y, x], dy, dx) for y, x, dy, dx in _windows(H, W, i, j, r) if d[y, x] >= 0.001]
            if not window:
                continue
            mean = np.mean([n for n, _, _ in window])
            num = den = 0.0
            for n, dy, dx in window:
                if abs(n - mean) < gate:
                    w = math.exp(-(dy * dy + dx * dx) / (2 * sigma * sigma))
                    num, den = num + w * n, den + w
            out[i, j] = num / den if den > 0 else 0.0
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_erosion_matches_definition(seed):
    depth = np.nan_to_num(_scene(seed))
    assert np.array_equal(erode_depth(torch.from_numpy(depth)).numpy(), _erode_reference(depth))


@pytest.mark.parametrize("seed", [0, 1])
def test_bilateral_matches_definition(seed):
    depth = np.nan_to_num(_scene(seed))
    result = bilateral_filter_depth(torch.from_numpy(depth)).numpy()
    np.testing.assert_allclose(result, _bilateral_reference(depth), atol=2e-6)


def test_erosion_removes_flying_pixel_and_keeps_smooth_surface():
    depth = torch.full((9, 9), 1.0)
    depth[4, 4] = 1.2  # an isolated pixel 20 cm off the surface
    out = erode_depth(depth)
    assert out[4, 4] == 0
    assert torch.equal(out[depth == 1.0], depth[depth == 1.0])


def test_bilateral_fills_a_hole_and_never_blends_across_a_step():
    depth = torch.full((10, 10), 0.8)
    depth[:, 5:] = 0.9  # a 10 cm step
    depth[2, 2] = 0.0
    out = bilateral_filter_depth(depth)
    assert out[2, 2] == pytest.approx(0.8, abs=1e-6)
    near_low = (out - 0.8).abs() < 0.01
    near_high = (out - 0.9).abs() < 0.01
    assert bool((near_low | near_high | (out == 0)).all())


def test_sanitize_zeroes_invalid_values():
    depth = torch.tensor([[float("nan"), float("inf"), -1.0, 0.05], [0.5, 3.9, 4.5, 1.0]])
    out = sanitize_depth(depth, 0.1, 4.0)
    assert torch.equal(out, torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.5, 3.9, 0.0, 1.0]]))


def test_clean_depth_is_erosion_then_filter_and_handles_nan():
    depth = torch.from_numpy(_scene(2))
    expected = bilateral_filter_depth(erode_depth(torch.nan_to_num(depth)))
    out = clean_depth(depth, 0.1, 4.0)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected)


def test_batch_equals_one_by_one():
    batch = torch.from_numpy(np.stack([_scene(3), _scene(4)]))
    out = clean_depth(batch)
    assert out.shape == batch.shape and out.dtype == torch.float32
    for b in range(2):
        torch.testing.assert_close(out[b], clean_depth(batch[b]))


def test_roi_is_exact_inside_and_only_sanitised_outside():
    depth = torch.from_numpy(np.stack([_scene(5, 40, 50), _scene(6, 40, 50)]))
    roi = (10, 7, 31, 25)
    full = clean_depth(depth)
    out = clean_depth(depth, roi=roi)
    inside = torch.zeros(40, 50, dtype=torch.bool)
    inside[7:25, 10:31] = True
    torch.testing.assert_close(out[:, inside], full[:, inside], rtol=0, atol=0)
    torch.testing.assert_close(out[:, ~inside], sanitize_depth(depth, 0.1, 4.0)[:, ~inside], rtol=0, atol=0)


def test_roi_outside_the_image_changes_nothing_but_sanitising():
    depth = torch.from_numpy(_scene(7))
    torch.testing.assert_close(clean_depth(depth, roi=(100, 100, 120, 130)), sanitize_depth(depth, 0.1, 4.0))


def test_bad_input_raises():
    with pytest.raises(InputError):
        erode_depth(torch.ones(4, 4, dtype=torch.int32))
    with pytest.raises(InputError):
        clean_depth(torch.ones(2, 2, 4, 4))
    with pytest.raises(ConfigError):
        clean_depth(torch.ones(4, 4), min_depth=2.0, max_depth=1.0)
    with pytest.raises(ConfigError):
        bilateral_filter_depth(torch.ones(4, 4), radius=-1)
