"""Back-projection of depth maps to camera-frame points (batched torch).

Pixel ``(u, v)`` = (column, row) with pixel centres at integer coordinates (OpenCV); camera frame
is OpenCV optical (x right, y down, z forward), metres. ``K`` may be any invertible upper-triangular
pinhole matrix (skew allowed), e.g. a crop camera ``M @ K``.
"""

from __future__ import annotations

import torch

from fpose_ros.core.errors import InputError


def backproject_depth(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Camera-frame points of every pixel of a depth map.

    Args:
        depth: (..., H, W) float32 z in metres; 0 = invalid.
        K: (..., 3, 3) float32 intrinsics, batch dimensions broadcastable with ``depth``'s.

    Returns:
        (..., H, W, 3) float32 points ``z * K^-1 [u, v, 1]`` in metres; exactly 0 where depth is 0
        (NaN propagates: sanitise depth first).
        O(H*W) per image.

    Example: the pixel one column right of the principal point at 2 m lies 2 m / fx to the right.

    >>> K = torch.tensor([[100.0, 0.0, 1.0], [0.0, 100.0, 1.0], [0.0, 0.0, 1.0]])
    >>> backproject_depth(torch.full((3, 3), 2.0), K)[1, 2].tolist()
    [0.019999999552965164, 0.0, 2.0]
    >>> backproject_depth(torch.zeros(2, 2), K).abs().sum().item()  # no depth, no point
    0.0
    """
    if not isinstance(depth, torch.Tensor) or depth.dim() < 2:
        raise InputError(f"depth must be a (..., H, W) tensor, got {getattr(depth, 'shape', type(depth).__name__)}")
    _check_K(K)
    H, W = depth.shape[-2:]
    u = torch.arange(W, dtype=depth.dtype, device=depth.device)
    v = torch.arange(H, dtype=depth.dtype, device=depth.device)
    K_inv = torch.linalg.inv(K.to(dtype=depth.dtype, device=depth.device))[..., None, None, :, :]  # (..., 1, 1, 3, 3)
    # K^-1 [u, v, 1] = u * col0 + (v * col1 + col2): a (1, W) plus an (H, 1) term, so the
    # full-size work is two elementwise passes.
    rays = u[:, None] * K_inv[..., 0] + (v[:, None, None] * K_inv[..., 1] + K_inv[..., 2])
    return rays * depth[..., None]


def _check_K(K: torch.Tensor) -> None:
    if not isinstance(K, torch.Tensor) or K.dim() < 2 or K.shape[-2:] != (3, 3):
        raise InputError(f"K must be a (..., 3, 3) tensor, got {getattr(K, 'shape', type(K).__name__)}")
