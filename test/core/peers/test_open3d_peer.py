"""The Open3D peer registers and tracks a synthetic object (skipped where open3d is not installed)."""

import numpy as np
import pytest

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.metrics import adds_error
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec

pytest.importorskip("open3d", exc_type=ImportError)

from fpose_ros.core.peers.open3d_peer import Open3DPeer, Open3DPeerConfig  # noqa: E402


def test_registers_and_tracks_a_static_object():
    seq = render_sequence(small_spec(n_frames=3, motion="static"))
    peer = Open3DPeer(seq.model)
    reg = peer.register(seq.frames[0], seq.masks[0])
    assert reg.has_pose
    assert adds_error(seq.model.surface_points, reg.T_cam_centered, seq.T_cam_centered_gt[0]) < 0.1 * seq.model.diameter
    # The mesh-origin pose follows the same convention as the engine's.
    np.testing.assert_allclose(reg.T_cam_obj, seq.model.pose_for_mesh_origin(reg.T_cam_centered))
    tracked = peer.track(seq.frames[1], reg)
    assert adds_error(seq.model.surface_points, tracked.T_cam_centered, seq.T_cam_centered_gt[1]) < 0.01
    empty = peer.register(seq.frames[0], np.zeros(seq.frames[0].shape, bool))
    assert not empty.has_pose and empty.reason


def test_refuses_bad_input_without_crashing():
    seq = render_sequence(small_spec(n_frames=1, motion="static"))
    peer = Open3DPeer(seq.model)
    wrong_shape = peer.register(seq.frames[0], np.ones((3, 3), bool))
    assert not wrong_shape.has_pose and wrong_shape.reason
    no_previous = peer.track(seq.frames[0], PoseResult(None, None, 0.0, TrackingMode.LOST))
    assert not no_previous.has_pose and no_previous.reason


@pytest.mark.parametrize("bad", [{"voxel_ratio": 0.0}, {"ransac_confidence": 1.0}, {"icp_iterations": 0},
                                 {"min_depth": 2.0, "max_depth": 1.0}])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ConfigError):
        Open3DPeerConfig(**bad)
