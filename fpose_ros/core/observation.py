"""The observed frame as tensors the refiners and scorers compare renderings against."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Observation:
    """One preprocessed RGB-D frame on the engine's device.

    Attributes:
        rgb: (H, W, 3) float32 in [0, 1].
        depth: (H, W) float32 metres after clean-up (erosion, hole filling), 0 = invalid.
        xyz: (H, W, 3) float32 camera-frame points back-projected from ``depth`` (0 where invalid).
        mask: (H, W) bool detector mask, or None when tracking without one.
        K: (3, 3) float32 intrinsic matrix.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    xyz: torch.Tensor
    mask: torch.Tensor | None
    K: torch.Tensor

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])
