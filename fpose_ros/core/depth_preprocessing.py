"""Depth clean-up as FoundationPose does it: sanitise, erode unreliable pixels, then bilateral-style hole filling.

All functions take (H, W) or (B, H, W) float32 depth in metres on any device (0 = invalid; NaN, inf
and values outside the working range are treated as invalid) and return a new tensor of the same
shape, dtype and device.

Vectorisation: a (2r+1)^2 window is visited as (2r+1)^2 whole-image shifted views of a padded copy,
so the Python loop runs over window offsets (25 for r = 2), never over pixels. Cost of erosion and
of the filter: O(B * H * W * (2r+1)^2) time, O(B * H * W) extra memory. Neighbours outside the image
do not count (as if the window were clipped at the border).

Measured on 2 shared CPU cores (torch 2.13), 640x480: erosion ~15 ms + filter ~27 ms for the full frame,
so pass ``roi`` to :func:`clean_depth` (the object's crop window) to clean only the part the pose engine
reads: ~8 ms for a 200x200 box, ~5 ms for 120x120.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from fpose_ros.core.errors import ConfigError, InputError

#: Depths below this (metres) are "no measurement" (FoundationPose's validity floor).
MIN_VALID_DEPTH_M = 0.001


def sanitize_depth(depth: torch.Tensor, min_depth: float, max_depth: float) -> torch.Tensor:
    """Zero every pixel that is NaN, infinite, or outside ``[min_depth, max_depth]`` metres.

    Args:
        depth: (H, W) or (B, H, W) float32 metres.
        min_depth, max_depth: working range in metres, ``0 <= min_depth < max_depth``.

    Returns:
        Same shape, float32, invalid pixels exactly 0.
    """
    _check_depth(depth)
    if not (0.0 <= min_depth < max_depth) or not math.isfinite(max_depth):
        raise ConfigError(f"depth range must satisfy 0 <= min_depth < max_depth < inf, got [{min_depth}, {max_depth}]")
    # NaN fails both comparisons, so it is zeroed too.
    keep = (depth >= min_depth) & (depth <= max_depth)
    return torch.where(keep, depth, torch.zeros((), dtype=depth.dtype, device=depth.device))


def erode_depth(
    depth: torch.Tensor,
    radius: int = 2,
    depth_diff_thresh: float = 0.001,
    ratio_thresh: float = 0.8,
    zfar: float = 100.0,
) -> torch.Tensor:
    """Zero pixels that disagree with most of their neighbourhood (flying pixels at depth edges, speckle).

    A window neighbour is *bad* when it is invalid (``< 0.001`` m, ``>= zfar``, NaN) or its depth
    differs from the centre's by more than ``depth_diff_thresh``; the centre (itself counted) is
    zeroed when bad neighbours exceed ``ratio_thresh`` of the in-image window. Invalid centres stay 0.

    Args:
        depth: (H, W) or (B, H, W) float32 metres.
        radius: window half-size in pixels (window ``2r+1`` square).
        depth_diff_thresh: metres.
        ratio_thresh: fraction in [0, 1].
        zfar: metres; depths at or beyond are invalid.

    Returns:
        Same shape float32 metres. O(B*H*W*(2r+1)^2).
    """
    _check_depth(depth)
    _check_radius(radius)
    if not 0.0 <= ratio_thresh <= 1.0:
        raise ConfigError(f"ratio_thresh must be in [0, 1], got {ratio_thresh}")
    d, squeeze = _as_batch(depth)
    valid = _valid(d, zfar)
    # Invalid and out-of-image neighbours become +inf, so the one |difference| test also rejects them.
    padded = F.pad(torch.where(valid, d, math.inf), (radius,) * 4, value=math.inf)
    good = torch.zeros_like(d)
    diff = torch.empty_like(d)
    for window in _shifted_views(padded, radius, d.shape[-2:]):
        torch.sub(window, d, out=diff)
        good += diff.abs_() <= depth_diff_thresh
    total = _window_counts(d.shape[-2], d.shape[-1], radius, d.device, d.dtype)
    keep = valid & ((total - good) <= ratio_thresh * total)
    out = torch.where(keep, d, torch.zeros((), dtype=d.dtype, device=d.device))
    return out[0] if squeeze else out


def bilateral_filter_depth(
    depth: torch.Tensor,
    radius: int = 2,
    sigma_d: float = 2.0,
    inlier_thresh: float = 0.01,
    zfar: float = 100.0,
) -> torch.Tensor:
    """Smooth depth and fill small holes from the neighbours that agree with the local mean.

    For each pixel: ``m`` = mean of the valid window neighbours; inliers are valid neighbours with
    ``|d - m| < inlier_thresh``; the output is their average weighted by the spatial Gaussian
    ``exp(-|offset|^2 / (2 sigma_d^2))``, or 0 when there is none. Invalid centres with valid
    neighbours are therefore filled. FoundationPose's range weight uses a sigma of 1e5 m, which makes
    it constant, so only the hard inlier gate selects by depth here.

    Args:
        depth: (H, W) or (B, H, W) float32 metres.
        radius: window half-size in pixels.
        sigma_d: spatial Gaussian sigma in pixels.
        inlier_thresh: metres from the window mean.
        zfar: metres; depths at or beyond are invalid.

    Returns:
        Same shape float32 metres. O(B*H*W*(2r+1)^2).
    """
    _check_depth(depth)
    _check_radius(radius)
    if sigma_d <= 0:
        raise ConfigError(f"sigma_d must be positive, got {sigma_d}")
    d, squeeze = _as_batch(depth)
    valid = _valid(d, zfar)
    values = torch.where(valid, d, torch.zeros((), dtype=d.dtype, device=d.device))
    k = 2 * radius + 1
    # Window sums of depth and of validity via box filters (zero padding = out-of-image not counted).
    sums = F.avg_pool2d(values[:, None], k, 1, radius, count_include_pad=True)[:, 0] * (k * k)
    counts = F.avg_pool2d(valid[:, None].to(d.dtype), k, 1, radius, count_include_pad=True)[:, 0] * (k * k)
    mean = sums / counts.clamp_min(0.5)
    # +inf marks invalid neighbours so that the inlier test alone rejects them; zeros feed the sums.
    gate = F.pad(torch.where(valid, d, math.inf), (radius,) * 4, value=math.inf)
    padded = F.pad(values, (radius,) * 4)
    num = torch.zeros_like(d)
    den = torch.zeros_like(d)
    diff = torch.empty_like(d)
    inlier = torch.empty_like(d)
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    for (dy, dx), g, v in zip(offsets, _shifted_views(gate, radius, d.shape[-2:]),
                              _shifted_views(padded, radius, d.shape[-2:]), strict=True):
        weight = math.exp(-(dy * dy + dx * dx) / (2.0 * sigma_d * sigma_d))
        torch.sub(g, mean, out=diff)
        inlier.copy_(diff.abs_() < inlier_thresh)
        den.add_(inlier, alpha=weight)
        num.addcmul_(inlier, v, value=weight)
    out = torch.where(den > 0, num / den.clamp_min(1e-12), torch.zeros((), dtype=d.dtype, device=d.device))
    return out[0] if squeeze else out


def clean_depth(
    depth: torch.Tensor,
    min_depth: float = 0.1,
    max_depth: float = 4.0,
    roi: tuple[int, int, int, int] | None = None,
    radius: int = 2,
) -> torch.Tensor:
    """Sanitise, erode, then bilateral-filter depth: FoundationPose's preprocessing.

    Args:
        depth: (H, W) or (B, H, W) float32 metres (0 / NaN / inf = invalid).
        min_depth, max_depth: working range in metres; outside it is invalid.
        roi: optional pixel box ``(u0, v0, u1, v1)`` (columns, rows; ends exclusive, clipped to the
            image). Inside it the result equals the full-frame clean-up exactly (a 2r-pixel margin is
            processed around it); outside it the depth is only sanitised. Cost scales with its area.
        radius: window half-size of both stages.

    Returns:
        Same shape float32 metres, 0 = invalid.
    """
    clean = sanitize_depth(depth, min_depth, max_depth)
    if roi is None:
        return bilateral_filter_depth(erode_depth(clean, radius, zfar=math.inf), radius, zfar=math.inf)
    H, W = clean.shape[-2:]
    u0, v0, u1, v1 = (int(x) for x in roi)
    u0, u1 = max(u0, 0), min(u1, W)
    v0, v1 = max(v0, 0), min(v1, H)
    if u0 >= u1 or v0 >= v1:
        return clean
    # Pixels within r of the box need eroded values within r, which need raw depth within 2r.
    margin = 2 * radius
    mu0, mv0, mu1, mv1 = max(u0 - margin, 0), max(v0 - margin, 0), min(u1 + margin, W), min(v1 + margin, H)
    region = clean[..., mv0:mv1, mu0:mu1]
    filtered = bilateral_filter_depth(erode_depth(region, radius, zfar=math.inf), radius, zfar=math.inf)
    out = clean.clone()
    out[..., v0:v1, u0:u1] = filtered[..., v0 - mv0 : v1 - mv0, u0 - mu0 : u1 - mu0]
    return out


def _shifted_views(padded: torch.Tensor, radius: int, shape: torch.Size) -> list[torch.Tensor]:
    """(B, H+2r, W+2r) -> (2r+1)^2 views (B, H, W); view (dy, dx) row-major holds neighbour (y+dy-r, x+dx-r)."""
    H, W = shape
    k = 2 * radius + 1
    return [padded[:, dy : dy + H, dx : dx + W] for dy in range(k) for dx in range(k)]


def _window_counts(H: int, W: int, radius: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(H, W) number of in-image pixels in each clipped window (separable: rows x columns)."""
    def span(n: int) -> torch.Tensor:
        i = torch.arange(n, device=device)
        return ((i + radius).clamp(max=n - 1) - (i - radius).clamp(min=0) + 1).to(dtype)

    return span(H)[:, None] * span(W)[None, :]


def _valid(d: torch.Tensor, zfar: float) -> torch.Tensor:
    """Bool mask of usable depth (NaN fails both comparisons)."""
    return (d >= MIN_VALID_DEPTH_M) & (d < zfar)


def _as_batch(depth: torch.Tensor) -> tuple[torch.Tensor, bool]:
    return (depth[None], True) if depth.dim() == 2 else (depth, False)


def _check_depth(depth: torch.Tensor) -> None:
    if not isinstance(depth, torch.Tensor) or depth.dim() not in (2, 3) or not depth.is_floating_point():
        raise InputError(f"depth must be an (H, W) or (B, H, W) floating tensor in metres, got "
                         f"{getattr(depth, 'shape', type(depth).__name__)} {getattr(depth, 'dtype', '')}")
    if depth.shape[-1] == 0 or depth.shape[-2] == 0:
        raise InputError(f"depth image is empty: {tuple(depth.shape)}")


def _check_radius(radius: int) -> None:
    if not isinstance(radius, int) or radius < 0:
        raise ConfigError(f"radius must be a non-negative integer, got {radius!r}")
