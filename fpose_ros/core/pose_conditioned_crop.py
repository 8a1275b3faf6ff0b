"""Pose-conditioned crops: a square window around a hypothesis, resampled to a fixed size.

FoundationPose's recipe: radius ``r = diameter * crop_ratio / 2``; project the hypothesis translation
``t`` and ``t +/- r`` along the camera x and y axes; the crop half-size ``h`` is the largest pixel
offset of those four from the projected centre ``c``; the window ``[c - h, c + h]^2`` is scaled then
translated onto an ``out x out`` image.

Pixel convention (image and crop alike): pixel centres at integer coordinates, pixel ``i`` covers
``[i - 0.5, i + 0.5]``. The window's continuous extent maps onto the crop's full extent
``[-0.5, out - 0.5]``, so the projected object centre lands at ``((out - 1) / 2, (out - 1) / 2)``,
the crop's geometric centre. The affine ``M`` is the single source of truth: ``M @ K`` is the crop's
camera (a renderer drawing with it draws the crop directly) and :func:`warp_to_crop` samples the
image at ``M^-1`` of each crop pixel centre, so renderings and observed crops line up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.validated_config import param, validate

#: Translations closer than this to the camera plane (metres) are clamped to it, so a diverged
#: hypothesis at or behind the camera gets a huge, finite window instead of NaNs.
_MIN_Z_M = 1e-3
#: Sample points per grid_sample call in :func:`warp_to_crop` (an 8 MB float32 grid).
_GRID_POINTS_PER_CHUNK = 1 << 20


@dataclass(frozen=True)
class CropConfig:
    """Size of pose-conditioned crops (each field's meaning and range: its ``param``)."""

    crop_ratio: float = param(1.2, "Window radius as a multiple of the object's radius (refiner 1.2, scorer 1.1).",
                              range=(0, None), low_open=True)
    out_size: int = param(160, "Side of the square crop, pixels (160 for FoundationPose's networks).",
                          range=(1, None), unit="pixels")

    def __post_init__(self) -> None:
        validate(self)


def crop_affine(
    T_cam_centered: torch.Tensor, K: torch.Tensor, diameter: float, crop_ratio: float = 1.2, out_size: int = 160
) -> torch.Tensor:
    """Affine maps from image pixels to crop pixels, one per pose.

    Args:
        T_cam_centered: (B, 4, 4) float32 poses of the centred object frame (only the translation is used).
        K: (3, 3) or (B, 3, 3) float32 intrinsics of the image.
        diameter: object diameter in metres.
        crop_ratio: window radius / object radius.
        out_size: crop side in pixels.

    Returns:
        (B, 3, 3) float32 ``M`` (last row ``0 0 1``): ``M @ [u, v, 1]`` is the crop pixel of image pixel
        ``(u, v)``. Uniform scale ``s = out / (2 h)``, no rotation. O(B).
    """
    CropConfig(crop_ratio, out_size)  # validates both
    if not diameter > 0:
        raise ConfigError(f"diameter must be positive (metres), got {diameter}")
    if T_cam_centered.dim() != 3 or T_cam_centered.shape[-2:] != (4, 4):
        raise InputError(f"T_cam_centered must be (B, 4, 4), got {tuple(T_cam_centered.shape)}")
    K = K.to(dtype=T_cam_centered.dtype, device=T_cam_centered.device)
    radius = 0.5 * diameter * crop_ratio
    t = T_cam_centered[:, :3, 3]
    z = t[:, 2:].clamp_min(_MIN_Z_M)  # (B, 1)
    centre = (t[:, :2] @ K[:2, :2].T) / z + K[:2, 2]  # (B, 2) projected origin
    # The four offsets t +/- r x, t +/- r y share t's depth, so (K upper-triangular) they project
    # r / z * (K00, 0), r / z * (K01, K11) away: the largest pixel offset is r / z * max|K00, K01, K11|.
    half = radius / z[:, 0] * K[:2, :2].abs().amax()  # (B,)
    scale = out_size / (2.0 * half)
    # Window corner c - h goes to the crop's outer edge -0.5.
    offset = -scale[:, None] * (centre - half[:, None]) - 0.5
    zero, one = torch.zeros_like(scale), torch.ones_like(scale)
    rows = [scale, zero, offset[:, 0], zero, scale, offset[:, 1], zero, zero, one]
    return torch.stack(rows, dim=-1).reshape(-1, 3, 3)


def crop_intrinsics(K: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """Crop cameras ``M @ K``: (3, 3) or (B, 3, 3) intrinsics, (B, 3, 3) affines -> (B, 3, 3)."""
    if K.shape[-2:] != (3, 3) or M.dim() != 3 or M.shape[-2:] != (3, 3):
        raise InputError(f"expected K (3, 3) or (B, 3, 3) and M (B, 3, 3), got {tuple(K.shape)} and {tuple(M.shape)}")
    return M @ K.to(dtype=M.dtype, device=M.device)


def warp_to_crop(
    image: torch.Tensor,
    M: torch.Tensor,
    out_size: int = 160,
    mode: Literal["bilinear", "nearest"] = "bilinear",
) -> torch.Tensor:
    """Resample an image into B crops: crop pixel ``p`` takes the image value at ``M^-1 p``.

    Args:
        image: floating tensor, (H, W) or (H, W, C) shared by all crops, or (B, H, W, C) one image per
            crop. A 3-D tensor is always (H, W, C): pass batched single-channel maps as (B, H, W, 1).
        M: (B, 3, 3) affine image-to-crop maps (last row ``0 0 1``), e.g. from :func:`crop_affine`.
        out_size: crop side in pixels.
        mode: ``"bilinear"`` for colour; ``"nearest"`` for depth / xyz / masks (copies exact values,
            never blends across a depth edge).

    Returns:
        (B, out, out) for an (H, W) image, else (B, out, out, C); same dtype and device; 0 where
        ``M^-1 p`` falls outside the image (nearest: beyond the outer pixel edges; bilinear: fading to 0
        between the outermost pixel centres and one pixel beyond them).
        O(B * out^2 * C).
    """
    if mode not in ("bilinear", "nearest"):
        raise ConfigError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    if not isinstance(out_size, int) or out_size < 1:
        raise ConfigError(f"out_size must be a positive integer, got {out_size!r}")
    if M.dim() != 3 or M.shape[-2:] != (3, 3):
        raise InputError(f"M must be (B, 3, 3), got {tuple(M.shape)}")
    if not isinstance(image, torch.Tensor) or not image.is_floating_point() or image.dim() not in (2, 3, 4):
        raise InputError("image must be a floating tensor shaped (H, W), (H, W, C) or (B, H, W, C), got "
                         f"{getattr(image, 'shape', type(image).__name__)} {getattr(image, 'dtype', '')}")
    B = M.shape[0]
    shared = image.dim() < 4
    if not shared and image.shape[0] != B:
        raise InputError(f"(B, H, W, C) image has {image.shape[0]} images for {B} crops")
    channels_last = image if image.dim() != 2 else image[..., None]
    H, W, C = channels_last.shape[-3:]
    theta = _normalized_inverse(M.to(dtype=image.dtype, device=image.device), H, W, out_size)  # (B, 2, 3)
    source = channels_last.permute(2, 0, 1)[None] if shared else channels_last.permute(0, 3, 1, 2)
    out = torch.empty(B, out_size, out_size, C, dtype=image.dtype, device=image.device)
    # Chunks keep each temporary grid small: on CPU, buffers above glibc's mmap threshold (32 MB)
    # are page-faulted afresh on every call, which costs more than the sampling itself.
    chunk = max(1, _GRID_POINTS_PER_CHUNK // (out_size * out_size))
    for start in range(0, B, chunk):
        grid = _sampling_grid(theta[start : start + chunk], out_size)  # (b, out, out, 2)
        b = grid.shape[0]
        if shared:
            # One input, the chunk's crops stacked along the grid's rows: no b-fold copy of the image.
            sampled = F.grid_sample(source, grid.reshape(1, b * out_size, out_size, 2), mode=mode,
                                    padding_mode="zeros", align_corners=False)
            out[start : start + b] = sampled.view(C, b, out_size, out_size).permute(1, 2, 3, 0)
        else:
            sampled = F.grid_sample(source[start : start + b], grid, mode=mode, padding_mode="zeros",
                                    align_corners=False)
            out[start : start + b] = sampled.permute(0, 2, 3, 1)
    return out[..., 0] if image.dim() == 2 else out


def _sampling_grid(theta: torch.Tensor, out_size: int) -> torch.Tensor:
    """(b, 2, 3) thetas -> (b, out, out, 2) normalised sample points, as ``F.affine_grid(align_corners=False)``.

    Built as a column term plus a row term (one broadcast add) instead of affine_grid's batched matmul,
    which is several times slower on CPU.
    """
    base = (2.0 * torch.arange(out_size, dtype=theta.dtype, device=theta.device) + 1.0) / out_size - 1.0
    col = base[None, :, None] * theta[:, None, :, 0]  # (b, out, 2): x_n contribution
    row = base[None, :, None] * theta[:, None, :, 1] + theta[:, None, :, 2]  # (b, out, 2): y_n and offset
    return col[:, None, :, :] + row[:, :, None, :]


def _normalized_inverse(M: torch.Tensor, H: int, W: int, out_size: int) -> torch.Tensor:
    """(B, 3, 3) image->crop pixel affines -> (B, 2, 3) ``affine_grid`` thetas (crop -> image, normalised).

    With ``align_corners=False`` a normalised coordinate ``x_n`` of an axis of n pixels is the pixel
    coordinate ``((x_n + 1) n - 1) / 2``; composing normalized_from_image . M^-1 . crop_from_normalized
    gives theta.
    """
    dtype, device = M.dtype, M.device
    crop_from_normalized = torch.tensor(
        [[out_size / 2, 0, (out_size - 1) / 2], [0, out_size / 2, (out_size - 1) / 2], [0, 0, 1]],
        dtype=dtype, device=device,
    )
    normalized_from_image = torch.tensor(
        [[2 / W, 0, 1 / W - 1], [0, 2 / H, 1 / H - 1], [0, 0, 1]], dtype=dtype, device=device
    )
    return (normalized_from_image @ torch.linalg.inv(M) @ crop_from_normalized)[:, :2]
