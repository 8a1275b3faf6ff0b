"""Synthetic sequences: ground truth agrees with the pixels, determinism, cache, loss scenario."""

import dataclasses

import numpy as np
import pytest
import torch
from geometry_helpers import project_points

from fpose_ros.core.synthetic.sequences import load_or_render, render_sequence, small_spec

SMALL = small_spec(n_frames=4, width=320, height=240)


@pytest.fixture(scope="module")
def seq():
    return render_sequence(SMALL)


def test_ground_truth_projects_onto_the_object_mask(seq):
    for i in range(len(seq.frames)):
        T = seq.T_cam_centered_gt[i]
        points = seq.model.surface_points @ T[:3, :3].T + T[:3, 3]
        uv = project_points(torch.as_tensor(points)[None], seq.camera.matrix_tensor().double()[None])[0].numpy()
        mask = seq.masks[i]
        rows, cols = np.nonzero(mask)
        # The detector mask is the true silhouette grown or shrunk by <= 3 px and shifted by <= 2 px.
        assert abs(uv[:, 0].min() - cols.min()) <= 6 and abs(uv[:, 0].max() - cols.max()) <= 6
        assert abs(uv[:, 1].min() - rows.min()) <= 6 and abs(uv[:, 1].max() - rows.max()) <= 6
        depth = seq.frames[i].depth[mask]
        assert abs(np.median(depth[depth > 0]) - np.median(points[:, 2])) < 0.6 * seq.model.diameter


def test_same_spec_same_frames(seq):
    again = render_sequence(SMALL)
    assert np.array_equal(seq.frames[3].rgb, again.frames[3].rgb)
    assert np.array_equal(seq.frames[3].depth, again.frames[3].depth)
    other = render_sequence(dataclasses.replace(SMALL, seed=99))
    assert not np.array_equal(seq.frames[0].depth, other.frames[0].depth)


def test_cache_round_trip(tmp_path, seq):
    first = load_or_render(SMALL, tmp_path)
    cached = load_or_render(SMALL, tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for a, b in zip(first.frames, cached.frames, strict=True):
        assert np.array_equal(a.rgb, b.rgb)
        assert np.abs(a.depth - b.depth).max() < 1e-6  # depth is already quantised to 1 mm
    assert all(np.array_equal(a, b) for a, b in zip(first.masks, cached.masks, strict=True))
    assert np.allclose(first.T_cam_obj_gt, cached.T_cam_obj_gt)


def test_exit_and_return_leaves_the_view_and_comes_back():
    seq = render_sequence(small_spec(n_frames=40, exit_and_return=True, away_s=0.4, distractors=0, width=320,
                                     height=240))
    visible = seq.visible
    assert visible[:10].all() and visible[-5:].all()
    assert (~visible).sum() >= 10  # 0.4 s at 30 Hz, minus the frames sliding out and in
    assert all((m is None) == (not v) for m, v in zip(seq.masks, visible, strict=True))


def test_noise_and_holes_are_realistic(seq):
    depth = seq.frames[0].depth
    assert 0.001 < (depth == 0).mean() < 0.2  # some holes, mostly valid
    assert np.allclose(depth[depth > 0] * 1000, np.round(depth[depth > 0] * 1000), atol=1e-3)  # 1 mm steps


def test_occluder_hides_part_of_the_object():
    seq = render_sequence(small_spec(n_frames=18, motion="static", occluder=True, distractors=0, width=320,
                                     height=240))
    assert seq.visible.all()
    assert seq.masks[9].sum() < 0.8 * seq.masks[0].sum()  # the bar is in front of the object mid-sequence
    assert seq.masks[17].sum() > 0.8 * seq.masks[0].sum()  # and gone at the end


def test_missing_masks_while_visible():
    seq = render_sequence(small_spec(n_frames=12, mask_dropout=0.5, distractors=0, width=320, height=240))
    assert seq.visible.all() and seq.masks[0] is not None
    assert 2 <= sum(m is None for m in seq.masks) <= 10
