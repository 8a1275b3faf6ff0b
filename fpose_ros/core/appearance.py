"""Appearance agreement of rendered and observed pixels, robust to what a camera does to a texture.

A mesh texture and a camera image of the same surface differ by per-channel gain and offset
(exposure, white balance), by shading (the light is not the renderer's), by specular highlights
and by blur. Three measures compare B rendered point sets with the observed pixels they fall on;
all are normalised cross-correlations, so gain and offset never matter, and all return 1 (neutral)
on untextured renderings so that a plain object is judged by its shape alone:

* ``colour``: one NCC over pixels and channels jointly after removing each channel's mean;
* ``channel``: the NCC of each channel on its own, averaged over the textured channels (a gain
  per channel, i.e. white balance, cancels exactly);
* ``gradient``: the NCC of luminance gradient vectors, the observed image differentiated at the
  rendering's sampling step (an offset, a slowly varying shading and a global gain cancel; what
  remains is where the print's edges are and which way they run).

docs/appearance.md compares them on independently rendered sequences; :data:`APPEARANCE_METHODS`
lists the names accepted by :func:`appearance_agreement`.
"""

from __future__ import annotations

import torch

from fpose_ros.core.projective_lookup import PixelHits, gather_pixels

#: The measures of :func:`appearance_agreement`.
APPEARANCE_METHODS = ("colour", "channel", "gradient")


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3) RGB -> (...) mean of the channels (a gain per channel only scales its share)."""
    return rgb.mean(-1)


def crop_gradients(rgb: torch.Tensor) -> torch.Tensor:
    """Luminance gradients of B rendered crops by central differences, one crop pixel apart.

    Args:
        rgb: (B, S, S, 3) float32 rendered colour.

    Returns:
        (B, S, S, 2) float32 ``(d/du, d/dv)`` per crop pixel; the border row and column are 0. Only
        pixels whose 4 neighbours are drawn (the silhouette's interior) hold the surface's gradient.
    """
    lum = luminance(rgb)
    grad = torch.zeros(*lum.shape, 2, dtype=lum.dtype, device=lum.device)
    grad[:, :, 1:-1, 0] = 0.5 * (lum[:, :, 2:] - lum[:, :, :-2])
    grad[:, 1:-1, :, 1] = 0.5 * (lum[:, 2:, :] - lum[:, :-2, :])
    return grad


def image_gradients(rgb: torch.Tensor, step: int) -> torch.Tensor:
    """Luminance gradients of an observed image at a sampling step of ``step`` pixels.

    The image is box-filtered over ``step`` pixels and differentiated by central differences
    ``step`` pixels apart, which is what a rendering drawn at ``1 / step`` of the image's
    resolution sees (its gradient is in units of its own pixels, as this one is).

    Args:
        rgb: (H, W, 3) float32 observed colour.
        step: pixels, >= 1.

    Returns:
        (H, W, 2) float32 ``(d/du, d/dv)``; 0 within ``step`` pixels of the border. O(H * W).
    """
    lum = luminance(rgb)[None, None]
    if step > 1:
        lum = torch.nn.functional.avg_pool2d(lum, step, stride=1, padding=step // 2, count_include_pad=False)
        lum = lum[..., : rgb.shape[0], : rgb.shape[1]]
    lum = lum[0, 0]
    grad = torch.zeros(*lum.shape, 2, dtype=lum.dtype, device=lum.device)
    grad[:, step:-step, 0] = 0.5 * (lum[:, 2 * step:] - lum[:, : -2 * step])
    grad[step:-step, :, 1] = 0.5 * (lum[2 * step:, :] - lum[: -2 * step, :])
    return grad


def weighted_ncc(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, centre: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """NCC of (B, N, C) samples over the N axis and the C channels jointly, with (B, N) bool weights.

    Args:
        centre: remove each channel's weighted mean first (colour); gradients are compared as they are.

    Returns:
        ``(ncc, std_a)``: (B,) NCC in [-1, 1] (0 where a side is constant) and (B,) the standard
        deviation of ``a`` over the selected samples and channels.
    """
    w = weight.to(a.dtype)[..., None]
    n = w.sum(1).clamp_min(1.0)  # (B, 1)
    if centre:
        a = a - (a * w).sum(1, keepdim=True) / n[:, None]
        b = b - (b * w).sum(1, keepdim=True) / n[:, None]
    a, b = a * w, b * w
    var_a, var_b = a.square().sum((1, 2)), b.square().sum((1, 2))
    ncc = (a * b).sum((1, 2)) / (var_a * var_b).sqrt().clamp_min(1e-12)
    return ncc.clamp(-1.0, 1.0), (var_a / (a.shape[-1] * n[:, 0])).sqrt()


def appearance_agreement(
    method: str,
    rendered_rgb: torch.Tensor,
    rendered_grad: torch.Tensor,
    observed_rgb: torch.Tensor,
    hits: PixelHits,
    weight: torch.Tensor,
    crop_scale: torch.Tensor,
    min_std: float,
) -> torch.Tensor:
    """How well B rendered point sets' appearance matches the observed pixels they fall on.

    Args:
        method: one of :data:`APPEARANCE_METHODS`.
        rendered_rgb: (B, N, 3) float32 rendered colour in [0, 1].
        rendered_grad: (B, N, 2) float32 rendered luminance gradients (:func:`crop_gradients`), per crop pixel.
        observed_rgb: (H, W, 3) float32 observed colour in [0, 1].
        hits: the observed pixel of each of the (B, N) points, from ``project_to_pixels``.
        weight: (B, N) bool, the points to compare (drawn, confirmed by depth; interior ones for ``gradient``).
        crop_scale: (B,) crop pixels per image pixel of the renderings.
        min_std: a rendering whose compared values vary less than this (colour, or gradient per
            crop pixel) is untextured: the result is 1.

    Returns:
        (B,) float32 in [-1, 1]; 1 where untextured or fewer than 8 points are compared.
    """
    if method == "gradient":
        # One sampling step for all B renderings: they are poses of one object at nearly one distance.
        step = max(1, round(float(1.0 / crop_scale.clamp_min(1e-6).median())))
        observed = gather_pixels(image_gradients(observed_rgb, step), hits)
        ncc, spread = weighted_ncc(rendered_grad, observed, weight, centre=False)
        threshold = 0.25 * min_std
    elif method == "channel":
        observed = gather_pixels(observed_rgb, hits)
        per_channel = [weighted_ncc(rendered_rgb[..., c:c + 1], observed[..., c:c + 1], weight) for c in range(3)]
        ncc_c = torch.stack([p[0] for p in per_channel], -1)  # (B, 3)
        textured_c = torch.stack([p[1] for p in per_channel], -1) > min_std
        ncc = (ncc_c * textured_c).sum(-1) / textured_c.sum(-1).clamp_min(1)
        spread = torch.where(textured_c.any(-1), torch.full_like(ncc, 2 * min_std), torch.zeros_like(ncc))
        threshold = min_std
    elif method == "colour":
        ncc, spread = weighted_ncc(rendered_rgb, gather_pixels(observed_rgb, hits), weight)
        threshold = min_std
    else:
        raise ValueError(f"unknown appearance method {method!r}; choose one of {', '.join(APPEARANCE_METHODS)}")
    textured = (spread > threshold) & (weight.sum(-1) >= 8)
    return torch.where(textured, ncc, torch.ones_like(ncc))
