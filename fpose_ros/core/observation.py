"""The observed frame as tensors the refiners and scorers compare renderings against."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from fpose_ros.core.backprojection import backproject_depth
from fpose_ros.core.depth_preprocessing import clean_depth, sanitize_depth
from fpose_ros.core.frame import RGBDFrame, validate_mask


@dataclass(frozen=True)
class Observation:
    """One preprocessed RGB-D frame on the engine's device.

    Attributes:
        rgb: (H, W, 3) float32 in [0, 1].
        depth: (H, W) float32 metres after clean-up (erosion, hole filling), 0 = invalid.
        mask: (H, W) bool detector mask, or None when tracking without one.
        K: (3, 3) float32 intrinsic matrix.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor | None
    K: torch.Tensor

    @functools.cached_property
    def xyz(self) -> torch.Tensor:
        """(H, W, 3) float32 camera-frame points back-projected from ``depth`` (0 where invalid), metres.

        Computed on first use: O(H * W), which tracking (it reads depth only at model points) never pays.
        """
        return backproject_depth(self.depth, self.K)

    @property
    def height(self) -> int:
        """Image rows."""
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        """Image columns."""
        return int(self.depth.shape[1])


def observation_from_frame(
    frame: RGBDFrame,
    mask: np.ndarray | None,
    device: torch.device | str = "cpu",
    min_depth: float = 0.1,
    max_depth: float = 4.0,
    clean: bool = True,
    roi: tuple[int, int, int, int] | None = None,
) -> Observation:
    """Move a validated frame to ``device`` and preprocess it.

    Args:
        frame: the RGB-D frame (uint8 RGB, float32 metres depth).
        mask: (H, W) detector mask (nonzero = object) or None.
        device: where the tensors live.
        min_depth, max_depth: working depth range in metres; depth outside it becomes 0.
        clean: run FoundationPose's erosion + bilateral hole filling; otherwise only sanitise
            (NaN / inf / out-of-range -> 0).
        roi: optional pixel box ``(u0, v0, u1, v1)`` (ends exclusive) limiting the clean-up to the
            region the engine will read (see :func:`clean_depth`); None = whole frame.

    Raises:
        InputError: a mask of the wrong size or shape.
    """
    mask_t = None if mask is None else torch.as_tensor(validate_mask(mask, frame.shape), device=device)
    rgb = torch.as_tensor(frame.rgb, device=device).to(torch.float32) / 255.0
    depth = torch.as_tensor(frame.depth, device=device)
    depth = clean_depth(depth, min_depth, max_depth, roi=roi) if clean else sanitize_depth(depth, min_depth, max_depth)
    K = frame.intrinsics.matrix_tensor(device)
    return Observation(rgb=rgb, depth=depth, mask=mask_t, K=K)
