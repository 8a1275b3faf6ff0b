"""Appearance measures: invariance to what a camera changes, and telling a turned texture apart."""

import pytest
import torch

from fpose_ros.core.appearance import (
    APPEARANCE_METHODS,
    appearance_agreement,
    crop_gradients,
    image_gradients,
)
from fpose_ros.core.projective_lookup import PixelHits

S = 48


def texture(seed: int = 0) -> torch.Tensor:
    """(S, S, 3) smooth random print in [0.1, 0.9]."""
    noise = torch.rand(1, 3, S // 4, S // 4, generator=torch.Generator().manual_seed(seed))
    smooth = torch.nn.functional.interpolate(noise, size=(S, S), mode="bilinear", align_corners=False)
    return (0.1 + 0.8 * smooth[0]).permute(1, 2, 0).contiguous()


def identity_hits(batch: int) -> PixelHits:
    """Every crop pixel falls on the same image pixel (crop and image coincide)."""
    index = torch.arange(S * S).expand(batch, -1)
    v, u = index // S, index % S
    pixels = torch.stack([u, v, torch.ones_like(u)], -1).to(torch.float32)
    return PixelHits(index=index, inside=torch.ones(batch, S * S, dtype=torch.bool), pixels=pixels)


def agreement(method: str, rendered: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Appearance agreement of (B, S, S, 3) renderings with one (S, S, 3) image, on the crop's inner pixels."""
    B = rendered.shape[0]
    inner = torch.zeros(S, S, dtype=torch.bool)
    inner[2:-2, 2:-2] = True
    return appearance_agreement(method, rendered.reshape(B, -1, 3), crop_gradients(rendered).reshape(B, -1, 2),
                                observed, identity_hits(B), inner.reshape(1, -1).expand(B, -1), torch.ones(B), 0.03)


@pytest.mark.parametrize("method", APPEARANCE_METHODS)
def test_gain_and_offset_do_not_matter(method):
    tex = texture()
    observed = 0.6 * tex + 0.15
    assert agreement(method, tex[None], observed)[0] > 0.99


def test_white_balance_does_not_matter_to_the_per_channel_measure():
    tex = texture()
    observed = tex * torch.tensor([0.7, 1.0, 1.3]) + torch.tensor([0.05, -0.02, 0.0])
    assert agreement("channel", tex[None], observed)[0] > 0.99


def test_gradients_ignore_slow_shading():
    tex = texture()
    ramp = torch.linspace(0.6, 1.0, S)[None, :, None]  # light falling off across the object
    assert agreement("gradient", tex[None], tex * ramp)[0] > 0.9


@pytest.mark.parametrize("method", APPEARANCE_METHODS)
def test_a_turned_texture_scores_far_below_the_right_one(method):
    tex = texture(1)
    turned = torch.rot90(tex, 1, (0, 1))
    right, wrong = agreement(method, torch.stack([tex, turned]), 0.8 * tex + 0.1)
    assert right > 0.95 and wrong < 0.5


@pytest.mark.parametrize("method", APPEARANCE_METHODS)
def test_an_untextured_rendering_is_neutral(method):
    flat = torch.full((1, S, S, 3), 0.5)
    assert agreement(method, flat, texture(2))[0] == 1


def test_image_gradients_at_a_step_match_the_crop_gradients_of_a_downsampled_image():
    ramp = torch.arange(S, dtype=torch.float32)[None, :, None].expand(S, S, 3) / S  # luminance rises along u
    g = image_gradients(ramp, 2)
    assert torch.allclose(g[10:-10, 10:-10, 0], torch.full((S - 20, S - 20), 2.0 / S))
    assert torch.allclose(g[10:-10, 10:-10, 1], torch.zeros(S - 20, S - 20))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="census"):
        agreement("census", texture()[None], texture())
