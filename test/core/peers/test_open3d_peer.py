"""The Open3D peer registers and tracks a synthetic object (skipped where open3d is not installed)."""

import numpy as np
import pytest

from fpose_ros.core.metrics import adds_error
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec

pytest.importorskip("open3d", exc_type=ImportError)


def test_registers_and_tracks_a_static_object():
    from fpose_ros.core.peers.open3d_peer import Open3DPeer

    seq = render_sequence(small_spec(n_frames=3, motion="static"))
    peer = Open3DPeer(seq.model)
    reg = peer.register(seq.frames[0], seq.masks[0])
    assert reg.has_pose
    assert adds_error(seq.model.surface_points, reg.T_cam_centered, seq.T_cam_centered_gt[0]) < 0.1 * seq.model.diameter
    tracked = peer.track(seq.frames[1], reg)
    assert adds_error(seq.model.surface_points, tracked.T_cam_centered, seq.T_cam_centered_gt[1]) < 0.01
    empty = peer.register(seq.frames[0], np.zeros(seq.frames[0].shape, bool))
    assert not empty.has_pose and empty.reason
