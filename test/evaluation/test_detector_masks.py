"""The simulated detector's schedule: every 3rd visible frame, and only for masks of >= 200 pixels."""

import numpy as np
import pytest

from fpose_ros.core.box_mask import PixelBox
from fpose_ros.evaluation.detector_masks import (
    box_detector_masks,
    detector_mask_frames,
    detector_masks,
    jittered_box,
)


def _mask(pixels: int) -> np.ndarray:
    m = np.zeros((20, 20), bool)
    m.flat[:pixels] = True
    return m


def test_every_third_visible_frame_counting_from_the_first_visible_one():
    visible = np.array([False, True, True, True, True, False, True, True])
    masks = [None if not v else _mask(300) for v in visible]
    # visible ranks: -, 0, 1, 2, 3, -, 4, 5 -> ranks 0 and 3 get a mask
    assert detector_mask_frames(masks, visible).tolist() == [False, True, False, False, True, False, False, False]


def test_no_mask_while_the_object_shows_fewer_than_200_pixels():
    visible = np.ones(7, bool)
    masks = [_mask(199), _mask(400), _mask(400), _mask(400), _mask(400), _mask(400), _mask(200)]
    assert detector_mask_frames(masks, visible).tolist() == [False, False, False, True, False, False, True]
    assert detector_masks(masks, visible)[3] is masks[3] and detector_masks(masks, visible)[0] is None


def test_inconsistent_lengths_are_refused():
    with pytest.raises(ValueError, match="2 masks for 3 frames"):
        detector_mask_frames([None, None], np.ones(3, bool))


def test_jittered_box_edges_stay_within_the_fraction_and_do_move():
    box = PixelBox(100.0, 50.0, 40.0, 20.0)
    rng = np.random.default_rng(1)
    boxes = [jittered_box(box, rng, 0.05) for _ in range(200)]
    lefts = np.array([b.center_u - b.width / 2 for b in boxes])
    bottoms = np.array([b.center_v + b.height / 2 for b in boxes])
    assert np.all(np.abs(lefts - 80.0) <= 0.05 * 40.0) and np.all(np.abs(bottoms - 60.0) <= 0.05 * 20.0)
    assert np.ptp(lefts) > 0.05 * 40.0 and np.ptp(bottoms) > 0.05 * 20.0  # spread over most of the range


def test_box_detector_masks_follow_the_mask_schedule_and_drop_boxes_without_depth():
    depth = np.full((20, 20), 2.0, np.float32)
    depth[5:12, 6:14] = 0.5
    obj = depth < 1.0
    no_depth = np.zeros((20, 20), np.float32)
    out = box_detector_masks([obj, None, obj], [depth, depth, no_depth], 0.1, np.random.default_rng(0), 0.05)
    np.testing.assert_array_equal(out[0], obj)
    assert out[1] is None and out[2] is None
