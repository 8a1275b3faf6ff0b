"""Live regression over real DDS: a moving object streamed at 30 Hz in real time into ``fpose_node``.

The mask comes with its frame on every 3rd frame, as a segmenter that keeps up would send it. The
node registers on a frame whose mask is there while that frame is the newest; the frames that arrived
while it registered must then be tracked one after another (issue 13: the node used to jump to the
newest frame, 0.3-1 s of motion later, lose the object and register again, leaving those frames
without a pose).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.node_process import node_session
from fpose_ros.ros.make_bag import sequence_frames
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.stream_messages import StreamTopics, stream_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TOPICS = StreamTopics()
N_FRAMES = 150  # 5 s at 30 Hz
START_NS = 1_700_000_000_000_000_000


class LiveRun:
    """What was streamed (stamp -> ground truth, masked stamps) and what the node published (stamp -> pose)."""

    def __init__(self, truth: dict[int, np.ndarray], masked: list[int], poses: dict[int, np.ndarray]) -> None:
        self.truth, self.masked, self.poses = truth, masked, poses
        self.stamps = sorted(truth)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    root = tmp_path_factory.mktemp("live")
    seq = render_sequence(small_spec(n_frames=N_FRAMES, motion="handheld", distractors=1))
    mesh = root / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh)
    frames = sequence_frames(seq, mask_rate_hz=seq.spec.fps / 3)  # a mask on every 3rd frame
    with node_session(mesh, stream_plan(TOPICS), root / "node.log") as (node, session):
        session.play(list(stream_messages(frames, seq.camera, fps=seq.spec.fps, start_ns=START_NS,
                                          mask_delay_s=0.0)))
        session.drain(3.0)
        assert not node.exited(), node.log_tail()
        period = round(1e9 / seq.spec.fps)
        truth = {START_NS + i * period: f.T_cam_obj for i, f in enumerate(frames)}
        masked = [START_NS + i * period for i, f in enumerate(frames) if f.mask is not None]
        poses = {r.stamp_ns: r.pose for r in session.records(truth) if r.pose is not None}
        yield LiveRun(truth, masked, poses)


def test_the_frames_right_after_the_registration_get_poses(live: LiveRun) -> None:
    first = min(live.poses)
    assert first in live.masked  # the first pose is a registration on a frame with its mask
    following = live.stamps[live.stamps.index(first) + 1:][:10]
    missing = [round((s - first) * 1e-6) for s in following if s not in live.poses]
    assert not missing, f"no pose on the frames {missing} ms after the registration"


def test_coverage_after_the_first_mask_is_high_and_poses_are_right(live: LiveRun) -> None:
    after = [s for s in live.stamps if s >= live.masked[0]]
    coverage = sum(s in live.poses for s in after) / len(after)
    assert coverage >= 0.9, coverage
    errors = [np.linalg.norm(live.poses[s][:3, 3] - live.truth[s][:3, 3]) for s in live.poses]
    assert np.mean(np.array(errors) < 0.02) >= 0.95, np.percentile(errors, [50, 90, 100])
