"""Geometry the tests share: poses from axis-angle and translation, and an independent pinhole projection.

Importable from any test: pytest puts ``test/`` on ``sys.path`` for its root ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fpose_ros.core.transforms import make_transform, so3_exp


def pose(rotvec: Sequence[float], t: Sequence[float]) -> torch.Tensor:
    """(1, 4, 4) float32 pose from an axis-angle (radians) and a translation (metres)."""
    return make_transform(so3_exp(torch.tensor([rotvec], dtype=torch.float32)),
                          torch.tensor([t], dtype=torch.float32))


def pose_matrix(rotvec: Sequence[float], t: Sequence[float]) -> np.ndarray:
    """(4, 4) float64 pose from an axis-angle (radians) and a translation (metres), as the engine's API takes it."""
    T = make_transform(so3_exp(torch.tensor([rotvec], dtype=torch.float64)), torch.tensor([t], dtype=torch.float64))
    return T[0].numpy()


def project_points(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates ``(u, v)`` of (..., N, 3) camera-frame points through (..., 3, 3) ``K``: (..., N, 2).

    The tests' oracle for back-projection, look-ups and crops, written independently of the engine's
    projections (those round to pixels or clamp depth). NaN for points with ``z <= 0``.
    """
    homog = points @ K.to(dtype=points.dtype, device=points.device).transpose(-1, -2)
    z = homog[..., 2:3]
    uv = homog[..., :2] / torch.where(z > 0, z, torch.ones_like(z))
    return torch.where(z > 0, uv, torch.full_like(uv, float("nan")))
