"""Projective data association: the image pixel each camera-frame point falls on, and the values there.

Refinement and scoring compare model points with the observation at the pixel each point projects
to (nearest pixel, no image warping). Only the looked-up pixels are read, so the cost is O(B * N)
for B x N points whatever the image size: nothing is precomputed over the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PixelHits:
    """The nearest image pixels of B x N camera-frame points.

    Attributes:
        index: (B, N) int64 row-major pixel index ``v * width + u`` (0 where not ``inside``).
        inside: (B, N) bool, the point is in front of the camera and projects inside the image.
        pixels: (B, N, 3) float32 homogeneous pixel ``(u, v, 1)``, whole numbers (meaningless where not
            ``inside``).
    """

    index: torch.Tensor
    inside: torch.Tensor
    pixels: torch.Tensor


def project_to_pixels(points_cam: torch.Tensor, K: torch.Tensor, height: int, width: int) -> PixelHits:
    """Nearest pixels of camera-frame points.

    Args:
        points_cam: (B, N, 3) float32 camera-frame points, metres (OpenCV optical frame).
        K: (3, 3) float32 upper-triangular intrinsics of the image.
        height, width: image size, pixels.

    Returns:
        :class:`PixelHits`. O(B * N), in a dozen tensor ops (this runs in every Gauss-Newton step).
    """
    homog = points_cam @ K.to(points_cam.dtype).T  # (B, N, 3)
    z = homog[..., 2:]
    pixels = torch.round(homog / z.clamp_min(1e-6))  # (u, v, 1); rounding keeps the exact 1
    last = torch.tensor([width - 1, height - 1, 1], dtype=pixels.dtype, device=pixels.device)
    inside = (z[..., 0] > 1e-6) & ((pixels >= 0) & (pixels <= last)).all(-1)
    row_major = torch.tensor([1, width, 0], dtype=pixels.dtype, device=pixels.device)
    index = torch.where(inside, pixels @ row_major, 0.0).to(torch.int64)
    return PixelHits(index=index, inside=inside, pixels=pixels)


def gather_pixels(image: torch.Tensor, hits: PixelHits) -> torch.Tensor:
    """Values of an image at the hit pixels.

    Args:
        image: (H, W) or (H, W, C) tensor, any dtype (contiguous images are read without a copy).
        hits: from :func:`project_to_pixels` on this image's size.

    Returns:
        (B, N) or (B, N, C), ``image``'s dtype; 0 (False) where the point is not ``inside``. O(B * N * C).
    """
    H, W = image.shape[:2]
    flat = image.reshape(H * W, -1)
    # index_select on a (P, C) table is several times faster than advanced indexing on a CPU.
    rows = torch.index_select(flat, 0, hits.index.reshape(-1)).reshape(*hits.index.shape, flat.shape[1])
    rows = torch.where(hits.inside[..., None], rows, torch.zeros((), dtype=rows.dtype, device=rows.device))
    return rows[..., 0] if image.dim() == 2 else rows


def pixel_rays(hits: PixelHits, K_inv: torch.Tensor) -> torch.Tensor:
    """Camera rays ``K^-1 [u, v, 1]`` (z = 1) through the hit pixels' centres.

    Args:
        hits: from :func:`project_to_pixels`.
        K_inv: (3, 3) float32 inverse of the image's intrinsics.

    Returns:
        (B, N, 3) float32; a pixel's camera-frame point is its depth times its ray. O(B * N).
    """
    return hits.pixels @ K_inv.T
