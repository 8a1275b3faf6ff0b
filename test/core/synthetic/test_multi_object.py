"""Multi-object scenes: objects where ``positions_m`` puts them, what the others leave of each (visible fraction)."""

import numpy as np
import pytest

from fpose_ros.core.synthetic.multi_object import MultiObjectSpec, render_multi_object_sequence


def test_an_object_in_front_of_another_hides_part_of_it():
    # Object 1 0.35 m away, 3 cm to the right of object 0 (0.7 m away): it covers part of object 0's image.
    spec = MultiObjectSpec(("proc:21", "proc:23"), ("static", "static"), (None, None), n_frames=2, seed=1,
                           width=160, height=120, positions_m=((0.0, 0.0, 0.7), (0.03, 0.0, 0.35)))
    seq = render_multi_object_sequence(spec)
    assert seq.visible_fraction.shape == (2, 2)
    assert np.all(seq.visible_fraction[:, 1] == 1.0)  # the front one is whole
    assert np.all((seq.visible_fraction[:, 0] > 0.0) & (seq.visible_fraction[:, 0] < 0.9))
    # The ground truth is where the positions say: the front one's centre projects right of the other's.
    assert seq.T_cam_obj_gt.shape == (2, 2, 4, 4)
    centres = [np.argwhere(seq.labels[0] == k + 1).mean(axis=0)[1] for k in range(2)]
    assert centres[1] > centres[0]


def test_positions_need_one_entry_per_object():
    with pytest.raises(ValueError, match="positions_m"):
        MultiObjectSpec(("proc:21", "proc:23"), ("static", "static"), (None, None), positions_m=((0.0, 0.0, 0.7),))
