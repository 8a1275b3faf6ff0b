"""RealSense-like depth noise grows with distance, leaves holes at edges, quantises; masks err boundedly."""

import numpy as np

from fpose_ros.core.synthetic.sensor_noise import imperfect_mask, realsense_depth


def _noise_std(z: float) -> float:
    depth = np.full((200, 200), z, np.float32)
    noisy = realsense_depth(depth, np.random.default_rng(0), dropout=0.0)
    return float(noisy[noisy > 0].std())


def test_noise_grows_with_depth():
    near, mid, far = _noise_std(0.4), _noise_std(0.9), _noise_std(2.0)
    assert near < mid < far
    assert far > 3 * near  # quadratic growth, not a constant
    assert 0.0004 < near < 0.002  # about a millimetre at arm's length


def test_invalid_stays_invalid_and_values_are_millimetres():
    depth = np.full((100, 100), 0.6, np.float32)
    depth[:, :30] = 0.0
    noisy = realsense_depth(depth, np.random.default_rng(1))
    assert (noisy[:, :30] == 0).all()
    valid = noisy[noisy > 0]
    assert np.allclose(valid * 1000, np.round(valid * 1000), atol=1e-3)
    assert 0.001 < (noisy[:, 35:] == 0).mean() < 0.05  # random dropouts, ~1 %


def test_depth_edges_lose_pixels():
    depth = np.full((100, 100), 0.9, np.float32)
    depth[:, 50:] = 0.5
    noisy = realsense_depth(depth, np.random.default_rng(2), dropout=0.0)
    assert (noisy[:, 48:52] == 0).mean() > 0.2
    assert (noisy[:, :40] == 0).mean() == 0.0


def test_imperfect_mask_stays_close_to_the_truth():
    mask = np.zeros((120, 160), bool)
    mask[40:80, 50:110] = True
    rng = np.random.default_rng(3)
    changed = 0
    for _ in range(20):
        out = imperfect_mask(mask, rng)
        rows, cols = np.nonzero(out)
        assert abs(rows.min() - 40) <= 5 and abs(rows.max() - 79) <= 5
        assert abs(cols.min() - 50) <= 5 and abs(cols.max() - 109) <= 5
        changed += not np.array_equal(out, mask)
    assert changed >= 15  # it really is imperfect
