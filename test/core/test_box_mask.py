"""mask_from_box: the object's pixels inside a detector box, told apart from the background by depth."""

from __future__ import annotations

import numpy as np
import pytest

from fpose_ros.core.box_mask import PixelBox, mask_from_box
from fpose_ros.core.errors import InputError

H, W = 120, 160
DIAMETER = 0.1


def scene(object_depth: float = 0.6, wall_depth: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """A wall and, in front of it, a 30 x 40 px object whose depth varies over 4 cm (a curved surface)."""
    depth = np.full((H, W), wall_depth, dtype=np.float32)
    obj = np.zeros((H, W), dtype=bool)
    obj[40:70, 60:100] = True
    depth[obj] = object_depth + 0.04 * np.linspace(0, 1, 40, dtype=np.float32)[None, :].repeat(30, 0).ravel()
    return depth, obj


def test_box_around_mask_spans_its_pixels() -> None:
    _, obj = scene()
    box = PixelBox.around(obj)
    assert (box.center_u, box.center_v, box.width, box.height) == (79.5, 54.5, 40.0, 30.0)
    assert box.pixel_bounds((H, W)) == (60, 40, 100, 70)


def test_object_is_separated_from_the_wall_behind_it() -> None:
    depth, obj = scene()
    box = PixelBox.around(obj)
    loose = PixelBox(box.center_u + 3, box.center_v - 2, box.width * 1.3, box.height * 1.3)
    mask = mask_from_box(depth, loose, DIAMETER)
    np.testing.assert_array_equal(mask, obj)


def test_only_pixels_inside_the_box_are_kept() -> None:
    depth, obj = scene()
    half = PixelBox(70.0, 54.5, 21.0, 30.0)  # the object's left half
    mask = mask_from_box(depth, half, DIAMETER)
    assert mask[:, :60].sum() == 0 and mask[:, 81:].sum() == 0
    np.testing.assert_array_equal(mask[40:70, 60:81], True)


def test_invalid_depth_is_never_in_the_mask() -> None:
    depth, obj = scene()
    depth[50:55, 70:75] = 0.0
    depth[60, 90] = np.nan
    mask = mask_from_box(depth, PixelBox.around(obj), DIAMETER)
    assert not mask[50:55, 70:75].any() and not mask[60, 90]
    assert mask.sum() == obj.sum() - 26


def test_a_separate_patch_at_the_object_depth_is_left_out() -> None:
    depth, obj = scene()
    depth[42:46, 102:106] = 0.62  # a small thing at the object's depth, not touching it, inside the box
    box = PixelBox(82.0, 54.5, 50.0, 34.0)
    mask = mask_from_box(depth, box, DIAMETER)
    np.testing.assert_array_equal(mask, obj)


def test_box_partly_outside_the_image_is_clipped() -> None:
    depth = np.full((H, W), 1.5, dtype=np.float32)
    depth[:20, :30] = 0.5
    mask = mask_from_box(depth, PixelBox(5.0, 5.0, 50.0, 40.0), DIAMETER)
    expected = np.zeros((H, W), dtype=bool)
    expected[:20, :30] = True
    np.testing.assert_array_equal(mask, expected)


def test_box_outside_the_image_or_without_depth_is_an_input_error() -> None:
    depth, _ = scene()
    with pytest.raises(InputError, match="outside"):
        mask_from_box(depth, PixelBox(-50.0, 10.0, 20.0, 20.0), DIAMETER)
    with pytest.raises(InputError, match="no valid depth"):
        mask_from_box(np.zeros((H, W), dtype=np.float32), PixelBox(80.0, 60.0, 20.0, 20.0), DIAMETER)


@pytest.mark.parametrize("size", [(0.0, 10.0), (10.0, -1.0), (float("nan"), 5.0)])
def test_degenerate_box_is_an_input_error(size: tuple[float, float]) -> None:
    with pytest.raises(InputError, match="positive size"):
        PixelBox(10.0, 10.0, *size)
