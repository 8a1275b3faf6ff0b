"""Solid textures: every family colours points deterministically, with real variation; backgrounds are images."""

import numpy as np
import pytest

from fpose_ros.core.synthetic.textures import FAMILIES, background_image, solid_texture


@pytest.mark.parametrize("family", FAMILIES)
def test_families_are_deterministic_and_varied(family):
    points = np.random.default_rng(0).uniform(-0.08, 0.08, (4000, 3))
    a = solid_texture(points, family, np.random.default_rng(1), scale_m=0.02)
    b = solid_texture(points, family, np.random.default_rng(1), scale_m=0.02)
    c = solid_texture(points, family, np.random.default_rng(2), scale_m=0.02)
    assert a.shape == (4000, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert a.std(axis=0).max() > 0.05  # a pattern, not a flat colour
    assert len(np.unique(a.round(2), axis=0)) >= 2


def test_label_has_dark_ink_on_pale_paper():
    points = np.random.default_rng(0).uniform(-0.08, 0.08, (4000, 3))
    colours = solid_texture(points, "label", np.random.default_rng(3), scale_m=0.02)
    brightness = colours.mean(axis=1)
    assert (brightness > 0.8).mean() > 0.1 and (brightness < 0.3).mean() > 0.05


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="unknown texture family"):
        solid_texture(np.zeros((3, 3)), "plaid", np.random.default_rng(0))


def test_background_is_a_textured_image():
    image = background_image(120, 160, np.random.default_rng(0))
    assert image.shape == (120, 160, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.05
