"""observation_from_frame: dtype conversion, depth clean-up and back-projection on the requested device."""

import numpy as np
import pytest
import torch

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.depth_preprocessing import clean_depth
from fpose_ros.core.errors import InputError
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.observation import observation_from_frame

CAMERA = CameraIntrinsics(fx=80.0, fy=82.0, cx=19.5, cy=14.5, width=40, height=30)


def _frame() -> RGBDFrame:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    depth = np.full((30, 40), 0.8, np.float32)
    depth[10:20, 10:20] = 0.6
    depth[0, 0] = np.nan
    depth[5, 5] = 9.0  # beyond max_depth
    depth[12, 12] = 0.0  # a hole the filter fills
    return RGBDFrame(rgb, depth, CAMERA)


def test_tensors_and_units():
    frame = _frame()
    mask = np.zeros((30, 40), np.uint8)
    mask[10:20, 10:20] = 255
    obs = observation_from_frame(frame, mask, "cpu")
    assert obs.rgb.dtype == torch.float32 and obs.rgb.shape == (30, 40, 3)
    torch.testing.assert_close(obs.rgb, torch.from_numpy(frame.rgb).float() / 255)
    assert obs.mask.dtype == torch.bool and int(obs.mask.sum()) == 100
    torch.testing.assert_close(obs.K, torch.from_numpy(CAMERA.matrix()).float())
    torch.testing.assert_close(obs.depth, clean_depth(torch.from_numpy(frame.depth), 0.1, 4.0))
    # Single invalid pixels (NaN, out of range, 0) are filled from their neighbours.
    assert obs.depth[0, 0] == pytest.approx(0.8) and obs.depth[5, 5] == pytest.approx(0.8)
    assert obs.depth[12, 12] == pytest.approx(0.6)
    torch.testing.assert_close(obs.xyz[..., 2], obs.depth)
    torch.testing.assert_close(obs.xyz[12, 30], torch.tensor([(30 - 19.5) * 0.8 / 80, (12 - 14.5) * 0.8 / 82, 0.8]))
    assert (obs.height, obs.width) == (30, 40)


def test_without_cleaning_only_sanitises_and_without_mask():
    obs = observation_from_frame(_frame(), None, "cpu", clean=False)
    assert obs.mask is None
    assert obs.depth[0, 0] == 0 and obs.depth[5, 5] == 0 and obs.depth[12, 12] == 0
    assert torch.isfinite(obs.xyz).all()


def test_wrong_mask_size_raises():
    with pytest.raises(InputError):
        observation_from_frame(_frame(), np.ones((10, 10), bool), "cpu")
