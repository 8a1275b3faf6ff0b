"""Over real DDS: the frames before the first mask get poses tracked back from the registration (``backfill_frames``).

The object is in view from the first frame, but the detector's first mask comes with frame 12 (it
started late, or the object just came back into view). The node registers on that mask and tracks
back through the 12 frames before it; their poses go out with their own stamps, in stamp order, before
the registered frame's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.node_process import node_session
from fpose_ros.evaluation.statistics import FrameRecord
from fpose_ros.ros.make_bag import sequence_frames
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.stream_messages import StreamTopics, stream_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TOPICS = StreamTopics()
FIRST_MASK = 12
START_NS = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[FrameRecord]]:
    root = tmp_path_factory.mktemp("backfill")
    seq = render_sequence(small_spec(n_frames=45, motion="handheld"))
    mesh = root / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh)
    frames = [f if i >= FIRST_MASK else dataclasses.replace(f, mask=None)
              for i, f in enumerate(sequence_frames(seq, mask_rate_hz=seq.spec.fps / 3))]
    with node_session(mesh, stream_plan(TOPICS), root / "node.log") as (node, session):
        session.play(list(stream_messages(frames, seq.camera, fps=seq.spec.fps, start_ns=START_NS)))
        session.drain(3.0)
        assert not node.exited(), node.log_tail()
        period = round(1e9 / seq.spec.fps)
        yield session.records({START_NS + i * period: f.T_cam_obj for i, f in enumerate(frames)})


def test_the_frames_before_the_first_mask_get_right_poses(records: list[FrameRecord]) -> None:
    before = records[:FIRST_MASK]
    posed = [r for r in before if r.pose is not None and r.gt is not None]
    assert len(posed) >= FIRST_MASK - 2, [r.message for r in before]
    errors = [float(np.linalg.norm(r.pose[:3, 3] - r.gt[:3, 3])) for r in posed if r.pose is not None]
    assert max(errors) < 0.02, errors
    assert records[FIRST_MASK].hypotheses > 1  # the registration, on the first mask
    assert all(r.hypotheses == 1 for r in posed)


def test_poses_arrive_in_stamp_order(records: list[FrameRecord]) -> None:
    received = [r.pose_received_s for r in records if r.pose_received_s is not None]
    assert received == sorted(received)
