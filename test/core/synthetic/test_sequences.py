"""Synthetic sequences: ground truth agrees with the pixels, determinism, cache, loss scenario."""

import numpy as np
import pytest
import torch

from fpose_ros.core.backprojection import project_points
from fpose_ros.core.synthetic.sequences import load_or_render, render_sequence, small_spec


@pytest.fixture(scope="module")
def seq():
    return render_sequence(small_spec(n_frames=4))


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
    again = render_sequence(small_spec(n_frames=4))
    assert np.array_equal(seq.frames[3].rgb, again.frames[3].rgb)
    assert np.array_equal(seq.frames[3].depth, again.frames[3].depth)
    other = render_sequence(small_spec(n_frames=4, seed=99))
    assert not np.array_equal(seq.frames[0].depth, other.frames[0].depth)


def test_cache_round_trip(tmp_path, seq):
    first = load_or_render(small_spec(n_frames=4), tmp_path)
    cached = load_or_render(small_spec(n_frames=4), tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for a, b in zip(first.frames, cached.frames, strict=True):
        assert np.array_equal(a.rgb, b.rgb)
        assert np.abs(a.depth - b.depth).max() < 1e-6  # depth is already quantised to 1 mm
    assert all(np.array_equal(a, b) for a, b in zip(first.masks, cached.masks, strict=True))
    assert np.allclose(first.T_cam_obj_gt, cached.T_cam_obj_gt)


def test_exit_and_return_leaves_the_view_and_comes_back():
    seq = render_sequence(small_spec(n_frames=60, exit_and_return=True, away_s=0.6, distractors=0))
    visible = seq.visible
    assert visible[:15].all() and visible[-5:].all()
    assert (~visible).sum() >= 15
    assert all((m is None) == (not v) for m, v in zip(seq.masks, visible, strict=True))


def test_noise_and_holes_are_realistic(seq):
    depth = seq.frames[0].depth
    assert 0.001 < (depth == 0).mean() < 0.2  # some holes, mostly valid
    assert np.allclose(depth[depth > 0] * 1000, np.round(depth[depth > 0] * 1000), atol=1e-3)  # 1 mm steps
