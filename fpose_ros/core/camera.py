"""Pinhole camera intrinsics in the OpenCV optical convention."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fpose_ros.core.errors import InputError


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an undistorted (rectified) image.

    Pixel ``(u, v)`` of a camera-frame point ``(x, y, z)`` is
    ``u = fx * x / z + cx``, ``v = fy * y / z + cy``; pixel centres sit at
    integer coordinates (OpenCV convention).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(values)) or self.fx <= 0 or self.fy <= 0:
            raise InputError(f"camera intrinsics must be finite with fx, fy > 0, got {values}")
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_matrix(cls, K: np.ndarray, width: int, height: int) -> CameraIntrinsics:
        """Build from a 3x3 matrix ``K`` (row-major, as in ``sensor_msgs/CameraInfo.k``)."""
        K = np.asarray(K, dtype=np.float64).reshape(3, 3)
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), int(width), int(height))

    def matrix(self) -> np.ndarray:
        """(3, 3) float64 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def matrix_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """(3, 3) float32 intrinsic matrix on ``device``."""
        return torch.as_tensor(self.matrix(), dtype=torch.float32, device=device)
