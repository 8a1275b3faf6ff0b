"""Geometric scorer: agreement, free-space, occlusion, silhouette and colour terms on hand-built renderings."""

import dataclasses

import pytest
import torch

from fpose_ros.core.appearance import APPEARANCE_METHODS
from fpose_ros.core.errors import ConfigError
from fpose_ros.core.observation import Observation
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics
from fpose_ros.core.rendering.base import RenderOutput
from fpose_ros.core.rendering.visible_surface import VisibleSurface, visible_surface_from_rendering
from fpose_ros.core.scoring.geometric import (
    GeometricScorerConfig,
    mask_area_in_windows,
    score_surface,
    silhouette_iou,
)
from fpose_ros.core.transforms import make_transform

H, W, S = 48, 64, 32
K = torch.tensor([[100.0, 0.0, 31.5], [0.0, 100.0, 23.5], [0.0, 0.0, 1.0]])
HALF = 0.03  # the square patch's half side, metres
CFG = GeometricScorerConfig(crop_size=S)


def checker(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A colour pattern on the patch, a function of its metric coordinates: (..., 3) in [0, 1]."""
    c = ((torch.floor(x / 0.01) + torch.floor(y / 0.01)) % 2)[..., None]
    return 0.2 + 0.6 * c * torch.tensor([1.0, 0.5, 0.2])


def patch_rendering(z: float, shift_x: float = 0.0) -> tuple[VisibleSurface, torch.Tensor]:
    """A fronto-parallel square (side 2 * HALF) at depth z, drawn in the crop of a pose at (shift_x, 0, 0.5)."""
    T = make_transform(torch.eye(3)[None], torch.tensor([[shift_x, 0.0, 0.5]]))
    M = crop_affine(T, K, diameter=0.1, crop_ratio=1.1, out_size=S)
    Kc = crop_intrinsics(K, M)[0]
    v, u = torch.meshgrid(torch.arange(S, dtype=torch.float32), torch.arange(S, dtype=torch.float32), indexing="ij")
    rays = torch.stack([u, v, torch.ones_like(u)], -1) @ torch.linalg.inv(Kc).T
    xyz = rays * z
    inside = ((xyz[..., 0] - shift_x).abs() < HALF) & (xyz[..., 1].abs() < HALF)
    xyz = xyz * inside[..., None]
    rgb = checker(xyz[..., 0] - shift_x, xyz[..., 1]) * inside[..., None]
    normals = torch.tensor([0.0, 0.0, -1.0]).expand(S, S, 3) * inside[..., None]
    out = RenderOutput(rgb=rgb[None], depth=xyz[None, ..., 2], mask=inside[None], xyz=xyz[None], normals=normals[None])
    return visible_surface_from_rendering(out, T, M[:, 0, 0], diameter=0.1, crop_ratio=1.1), M


def observation(depth: torch.Tensor, rgb: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> Observation:
    return Observation(rgb=torch.zeros(H, W, 3) if rgb is None else rgb, depth=depth, mask=mask, K=K)


def patch_scene(shift_x: float = 0.0, gain: float = 1.0, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor,
                                                                                    torch.Tensor]:
    """Observed depth (patch at 0.5 m on a wall at 0.8 m), colour and the patch's mask."""
    v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    x, y = (u - K[0, 2]) / K[0, 0] * 0.5, (v - K[1, 2]) / K[1, 1] * 0.5
    inside = ((x - shift_x).abs() < HALF) & (y.abs() < HALF)
    depth = torch.where(inside, torch.full_like(x, 0.5), torch.full_like(x, 0.8))
    pattern = checker(-(x - shift_x) if flip else x - shift_x, y)
    rgb = torch.where(inside[..., None], gain * pattern, torch.full((H, W, 3), 0.5))
    return depth, rgb, inside


def details(surface: VisibleSurface, M: torch.Tensor, obs: Observation, cfg: GeometricScorerConfig = CFG):
    area = None if obs.mask is None else mask_area_in_windows(obs.mask, M, S)
    return score_surface(surface, surface.T_cam_centered, obs, obs.mask, area, cfg)


def test_correct_pose_scores_high_and_is_fully_visible():
    depth, rgb, mask = patch_scene()
    d = details(*patch_rendering(0.5), observation(depth, rgb, mask))
    assert d.score[0] > 0.9 and d.visible_fraction[0] > 0.95 and d.free_space_fraction[0] == 0
    assert d.silhouette_iou[0] > 0.8 and d.appearance[0] > 0.9


def test_pose_in_front_of_the_observed_surface_violates_free_space():
    depth = torch.full((H, W), 0.8)  # the object is gone: only the wall
    d = details(*patch_rendering(0.5), observation(depth))
    assert d.free_space_fraction[0] > 0.95 and d.score[0] == 0 and d.visible_fraction[0] == 0


def test_occlusion_is_neutral_but_lowers_the_visible_fraction():
    depth, rgb, _ = patch_scene()
    depth[:, : W // 2] = 0.3  # an occluder hides the left half of the patch
    d = details(*patch_rendering(0.5), observation(depth, rgb))
    assert d.score[0] > 0.9
    assert 0.35 < d.visible_fraction[0] < 0.65 and 0.35 < d.occluded_fraction[0] < 0.65


def test_pose_hidden_behind_the_scene_scores_zero():
    d = details(*patch_rendering(0.7), observation(torch.full((H, W), 0.5)))
    assert d.score[0] == 0 and d.occluded_fraction[0] > 0.95


def test_missing_depth_is_no_evidence():
    d = details(*patch_rendering(0.5), observation(torch.zeros(H, W)))
    assert d.score[0] == 0 and d.visible_fraction[0] == 0 and d.free_space_fraction[0] == 0


@pytest.mark.parametrize("method", APPEARANCE_METHODS)
def test_appearance_disambiguates_a_mirrored_texture_and_ignores_gain(method):
    cfg = dataclasses.replace(CFG, appearance=method)
    depth, rgb, _mask = patch_scene()
    rendering, M = patch_rendering(0.5)
    right = details(rendering, M, observation(depth, 0.5 * rgb + 0.1), cfg)
    depth, mirrored, _ = patch_scene(flip=True)
    wrong = details(rendering, M, observation(depth, mirrored), cfg)
    assert right.appearance[0] > 0.8 and wrong.appearance[0] < 0.0
    assert right.score[0] > wrong.score[0] + 0.2


def test_silhouette_iou_drops_with_a_misplaced_pose():
    _depth, rgb, mask = patch_scene()
    obs = observation(torch.full((H, W), 0.5), rgb, mask)  # flat depth: only the mask tells them apart
    good = details(*patch_rendering(0.5), obs)
    bad = details(*patch_rendering(0.5, shift_x=0.03), obs)
    assert good.silhouette_iou[0] > 0.8 and bad.silhouette_iou[0] < 0.5
    assert good.score[0] > bad.score[0]


def test_mask_area_in_windows_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(H, W, generator=g) > 0.6
    T = make_transform(torch.eye(3).expand(4, 3, 3), torch.tensor([[0.0, 0, 0.5], [0.1, 0.05, 0.6],
                                                                    [-0.2, 0, 0.4], [0.5, 0.5, 0.5]]))
    M = crop_affine(T, K, 0.1, 1.1, S)
    v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    for i in range(4):
        cu, cv = M[i, 0, 0] * u + M[i, 0, 2], M[i, 1, 1] * v + M[i, 1, 2]
        inside = (cu >= -0.5) & (cu <= S - 0.5) & (cv >= -0.5) & (cv <= S - 0.5)
        assert mask_area_in_windows(mask, M[i : i + 1], S)[0] == pytest.approx(float((mask & inside).sum()))


def test_silhouette_iou_without_mask_is_one():
    rendered = torch.ones(2, 10, dtype=torch.bool)
    assert (silhouette_iou(rendered, rendered, torch.ones(2), None) == 1).all()


def test_config_rejects_absurd_values():
    with pytest.raises(ConfigError, match="appearance_weight"):
        GeometricScorerConfig(appearance_weight=2.0)
    with pytest.raises(ConfigError, match="appearance"):
        GeometricScorerConfig(appearance="census")
    with pytest.raises(ConfigError, match="depth_tolerance_m"):
        GeometricScorerConfig(depth_tolerance_m=0.0)
