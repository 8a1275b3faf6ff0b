"""The simulated detector's schedule: every 3rd visible frame, and only for masks of >= 200 pixels."""

import numpy as np
import pytest

from fpose_ros.evaluation.detector_masks import detector_mask_frames, detector_masks


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
