"""Geometric scorer: how well a rendered pose explains the observed depth, silhouette and colour.

Each pose is rendered on its pose-conditioned crop (FoundationPose's scorer window, crop ratio 1.1).
Every rendered pixel is a ray through the crop camera ``M @ K``; the observed values on that ray are
read at the nearest image pixel (projective look-up, no image warping). Per rendered pixel:

* *agree*: observed depth within ``depth_tolerance_m`` of the rendered depth;
* *free-space violation*: observed surface more than ``free_space_margin_m`` *behind* the rendered
  one, i.e. the camera sees through where the model claims to be: strong evidence against the pose;
* *occluded*: observed surface in front (something hides the object): neither for nor against;
* *missing*: no observed depth or outside the image: neither for nor against.

Pixels on the rendered outline only count when they agree: there the nearest image pixel often lies
just off the object, so disagreement is no evidence.

The score in [0, 1] multiplies a depth fit (agreement quality minus violations over the pixels the
observation can judge), a silhouette term (IoU with the detector mask, when there is one) and an
appearance term (a normalised cross-correlation of rendered and observed appearance on agreeing
pixels, :mod:`fpose_ros.core.appearance`; invariant to gain and offset, neutral on untextured
objects), so scores are comparable across frames and usable for loss detection. Cost: one rendering
of B crops plus O(B * crop_size^2) tensor work.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from fpose_ros.core.appearance import APPEARANCE_METHODS, appearance_agreement
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.projective_lookup import gather_pixels, project_to_pixels
from fpose_ros.core.rendering.base import MeshTensors, Renderer
from fpose_ros.core.rendering.visible_surface import VisibleSurface, render_visible_surface
from fpose_ros.core.validated_config import param, validate


@dataclass(frozen=True)
class GeometricScorerConfig:
    """Settings of :class:`GeometricScorer` (each field's meaning and range: its ``param``)."""

    crop_ratio: float = param(1.1, "Crop window radius / object radius (FoundationPose's scorer: 1.1).",
                              range=(0, None), low_open=True)
    crop_size: int = param(48, "Side of the rendered crop, pixels.", range=(4, None), unit="pixels")
    depth_tolerance_m: float = param(0.01, "Rendered and observed depth agree within this, metres.",
                                     range=(0, None), low_open=True, unit="metres")
    free_space_margin_m: float = param(0.015, "Observed surface this far behind the rendered one is a violation, "
                                              "metres.", range=(0, None), low_open=True, unit="metres")
    free_space_penalty: float = param(1.0, "Each violating pixel cancels this many perfectly agreeing pixels.",
                                      range=(0, None))
    silhouette_weight: float = param(0.5, "The silhouette term is 1 - w * (1 - IoU) (mask only).", range=(0, 1))
    appearance: str = param(APPEARANCE_METHODS[0], "Appearance measure (fpose_ros.core.appearance): colour, "
                                                   "channel or gradient NCC.", choices=APPEARANCE_METHODS)
    appearance_weight: float = param(0.3, "The appearance term is 1 - w * (1 - max(NCC, 0)).", range=(0, 1))
    min_texture_std: float = param(0.03, "Rendered colour standard deviation (gradient: a quarter of it, per crop "
                                         "pixel) below which the object counts as untextured and the appearance "
                                         "term is 1.", range=(0, None))
    # A pose hidden behind the scene must not score well on a handful of pixels.
    min_judged_fraction: float = param(0.25, "The depth fit is scaled down when the observation can judge (neither "
                                             "occluded nor missing) less than this fraction of the rendered pixels.",
                                       range=(0, 1))
    min_pixels: int = param(16, "Poses rendering fewer pixels score 0.", range=(1, None))
    use_mask: bool = param(True, "Use the observation's detector mask for the silhouette term.")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ScoreDetails:
    """Per-pose evidence behind the scores; every field is (B,) float32 on the engine's device.

    Fractions are of the *counted* rendered pixels: all but those on the rendered outline whose
    observed depth disagrees (there the nearest image pixel often lies just off the object).

    Attributes:
        score: combined score in [0, 1].
        depth_fit: agreement quality minus free-space penalties over judged pixels, in [0, 1].
        visible_fraction: counted pixels whose observed depth agrees.
        free_space_fraction: counted pixels where the observed surface is clearly behind.
        occluded_fraction: counted pixels where the observed surface is in front.
        silhouette_iou: IoU of the rendered silhouette and the mask inside the crop window (1 without mask).
        appearance: normalised cross-correlation of appearance on agreeing pixels in [-1, 1] (1 when untextured).
        rendered_pixels: rendered pixels in the crop.
    """

    score: torch.Tensor
    depth_fit: torch.Tensor
    visible_fraction: torch.Tensor
    free_space_fraction: torch.Tensor
    occluded_fraction: torch.Tensor
    silhouette_iou: torch.Tensor
    appearance: torch.Tensor
    rendered_pixels: torch.Tensor

    def row(self, i: int) -> ScoreDetails:
        """The details of pose ``i`` alone (every field (1,))."""
        return ScoreDetails(**{f.name: getattr(self, f.name)[i:i + 1] for f in dataclasses.fields(self)})


class GeometricScorer:
    """Depth / free-space / silhouette / colour agreement scorer (implements ``Scorer``)."""

    def __init__(self, renderer: Renderer, config: GeometricScorerConfig | None = None) -> None:
        self.renderer = renderer
        self.config = config or GeometricScorerConfig()
        self._mesh_cache: tuple[int, torch.device, MeshTensors] | None = None

    def score(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor) -> torch.Tensor:
        """(B,) float32 scores in [0, 1] of (B, 4, 4) poses of the centred object frame."""
        return self.details(model, observation, T_cam_centered).score

    def details(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor) -> ScoreDetails:
        """Render (B, 4, 4) float32 poses and measure their agreement with the observation."""
        T = T_cam_centered.to(dtype=torch.float32, device=observation.depth.device)
        return self.score_surface(self.render_surface(model, observation, T), observation, T)

    def render_surface(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor
                       ) -> VisibleSurface:
        """Render (B, 4, 4) float32 poses on this scorer's crops (``crop_ratio``, ``crop_size``)."""
        cfg = self.config
        return render_visible_surface(self.renderer, self._mesh(model, T_cam_centered.device), T_cam_centered,
                                      observation.K, model.diameter, cfg.crop_ratio, cfg.crop_size)

    def score_surface(self, surface: VisibleSurface, observation: Observation, T_cam_centered: torch.Tensor
                      ) -> ScoreDetails:
        """Measure the agreement of (B, 4, 4) poses using a surface rendered at (nearby) poses.

        The surface follows the poses rigidly, which is exact where the view direction is the one
        rendered and close to it nearby (tracking scores the refined pose on the rendering it refined with).
        """
        mask = observation.mask if self.config.use_mask else None
        window_mask_area = None
        if mask is not None:
            window_mask_area = mask_area_in_windows(mask, surface.crop_affine(T_cam_centered, observation.K),
                                                    surface.crop_size)
        return score_surface(surface, T_cam_centered, observation, mask, window_mask_area, self.config)

    def _mesh(self, model: ObjectModel, device: torch.device) -> MeshTensors:
        # Models are immutable; re-uploading per call would dominate tracking-time scoring.
        if self._mesh_cache is None or self._mesh_cache[0] != id(model) or self._mesh_cache[1] != device:
            self._mesh_cache = (id(model), device, MeshTensors.from_object_model(model, device))
        return self._mesh_cache[2]


def mask_area_in_windows(mask: torch.Tensor, M: torch.Tensor, crop_size: int) -> torch.Tensor:
    """Mask pixels inside each crop window, via a summed-area table.

    Args:
        mask: (H, W) bool detector mask.
        M: (B, 3, 3) image-to-crop affines (uniform scale, no rotation), from ``crop_affine``.
        crop_size: crop side, pixels.

    Returns:
        (B,) float32 counts of mask pixels (image pixels) whose centres fall in the window. O(H * W + B).
    """
    H, W = mask.shape
    sat = torch.nn.functional.pad(mask.to(torch.float64).cumsum(0).cumsum(1), (1, 0, 1, 0))  # (H + 1, W + 1)
    scale, offset = M[:, 0, 0].to(torch.float64), M[:, :2, 2].to(torch.float64)
    # The crop's extent [-0.5, size - 0.5] in image pixel coordinates.
    lo = (-0.5 - offset) / scale[:, None]
    hi = (crop_size - 0.5 - offset) / scale[:, None]
    # Half-open pixel ranges [first, end) clipped to the image; a window off the image becomes empty.
    limit = torch.tensor([W, H], device=M.device)
    first = torch.minimum(torch.ceil(lo).long().clamp_min(0), limit)
    end = torch.maximum(torch.minimum(torch.floor(hi).long() + 1, limit), first)
    u0, v0, u1, v1 = first[:, 0], first[:, 1], end[:, 0], end[:, 1]
    return (sat[v1, u1] - sat[v0, u1] - sat[v1, u0] + sat[v0, u0]).to(torch.float32)


def score_surface(
    surface: VisibleSurface,
    T_cam_centered: torch.Tensor,
    observation: Observation,
    mask: torch.Tensor | None,
    window_mask_area: torch.Tensor | None,
    config: GeometricScorerConfig,
) -> ScoreDetails:
    """Compare B rendered surfaces, moved to poses, with the observation (see the module docstring).

    Args:
        surface: the rendered surfaces (one per pose).
        T_cam_centered: (B, 4, 4) float32 poses to score.
        observation: the preprocessed frame.
        mask: (H, W) bool detector mask for the silhouette term, or None.
        window_mask_area: (B,) mask pixels inside each crop window, or None without a mask.
        config: thresholds and weights.

    Returns:
        :class:`ScoreDetails`. O(B * N) for N surface points, whatever the image size.
    """
    cfg = config
    points = surface.points_in_camera(T_cam_centered)
    hits = project_to_pixels(points, observation.K, observation.height, observation.width)
    observed_z = gather_pixels(observation.depth, hits)
    rendered = surface.valid
    rendered_z = points[..., 2]
    has_obs = rendered & (observed_z > 0)
    err = observed_z - rendered_z  # > 0: the observed surface is behind the model
    agree = has_obs & (err.abs() < cfg.depth_tolerance_m)
    # On the rendered outline the nearest image pixel often lies just off the object (sub-pixel
    # misalignment, depth edges): there, disagreement is no evidence, only agreement counts.
    counted = rendered & (surface.interior | agree)
    free = has_obs & counted & (err > cfg.free_space_margin_m)
    occluded = has_obs & counted & (err < -cfg.depth_tolerance_m)
    has_obs = has_obs & counted

    n_rendered = rendered.sum(-1).to(torch.float32)
    n_any = counted.sum(-1).to(torch.float32).clamp_min(1.0)
    n_free, n_occluded = free.sum(-1).to(torch.float32), occluded.sum(-1).to(torch.float32)
    n_judged = has_obs.sum(-1).to(torch.float32) - n_occluded
    quality = torch.where(agree, 1.0 - (err / cfg.depth_tolerance_m).square(), torch.zeros_like(err)).sum(-1)
    fit = ((quality - cfg.free_space_penalty * n_free) / n_judged.clamp_min(1.0)).clamp(0.0, 1.0)
    # Few judged pixels are weak evidence: scale the fit down proportionally below the minimum fraction.
    judged_fraction = n_judged / n_any
    if cfg.min_judged_fraction > 0:
        fit = fit * (judged_fraction / cfg.min_judged_fraction).clamp(max=1.0)

    iou = silhouette_iou(rendered, gather_pixels(mask, hits) if mask is not None else rendered,
                         surface.crop_scale, window_mask_area)
    ncc = appearance_agreement(cfg.appearance, surface.rgb, surface.grad, observation.rgb, hits,
                               agree & surface.interior if cfg.appearance == "gradient" else agree,
                               surface.crop_scale, cfg.min_texture_std)
    score = (fit * (1.0 - cfg.silhouette_weight * (1.0 - iou))
             * (1.0 - cfg.appearance_weight * (1.0 - ncc.clamp_min(0.0))))
    score = torch.where(n_rendered >= cfg.min_pixels, score, torch.zeros_like(score))
    return ScoreDetails(
        score=score, depth_fit=fit, visible_fraction=agree.sum(-1) / n_any, free_space_fraction=n_free / n_any,
        occluded_fraction=n_occluded / n_any, silhouette_iou=iou, appearance=ncc, rendered_pixels=n_rendered,
    )


def silhouette_iou(
    rendered: torch.Tensor, in_mask: torch.Tensor, crop_scale: torch.Tensor, window_mask_area: torch.Tensor | None
) -> torch.Tensor:
    """IoU of rendered silhouettes and the detector mask within each crop window, in image-pixel area.

    Args:
        rendered: (B, N) bool rendered crop pixels.
        in_mask: (B, N) bool, the crop pixel's ray hits a mask pixel.
        crop_scale: (B,) crop pixels per image pixel (a crop pixel covers ``1 / scale^2`` image pixels).
        window_mask_area: (B,) mask pixels inside each window, or None (then the IoU is 1).

    Returns:
        (B,) float32 in [0, 1].
    """
    if window_mask_area is None:
        return torch.ones(rendered.shape[0], dtype=torch.float32, device=rendered.device)
    pixel_area = 1.0 / crop_scale.square()
    intersection = (rendered & in_mask).sum(-1) * pixel_area
    union = rendered.sum(-1) * pixel_area + window_mask_area - intersection
    return (intersection / union.clamp_min(1e-6)).clamp(0.0, 1.0)

