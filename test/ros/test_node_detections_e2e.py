"""End to end over real DDS: boxes in (``detections_2d``, no mask at all), pose and ``detections`` out.

A box detector at 10 Hz sends the object's box (the ground truth's, each edge off by up to 5 %) and a box
of another class; the node registers from the box and the depth, tracks, and publishes per frame a
``Detection3DArray`` whose entry carries the object's class, the same pose as ``pose`` and the status's
score; the other class is reported in ``status``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fpose_ros.core.box_mask import PixelBox
from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.detector_masks import jittered_box
from fpose_ros.evaluation.node_process import node_session
from fpose_ros.ros.detection_messages import BoxDetection
from fpose_ros.ros.make_bag import sequence_frames
from fpose_ros.ros.node_topics import TopicPlan, stream_plan
from fpose_ros.ros.pose_conversion import matrix_from_pose
from fpose_ros.ros.stream_messages import StreamTopics, stream_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TOPICS = StreamTopics()
CLASS_ID = "part_7"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("detections_e2e")
    seq = render_sequence(small_spec(n_frames=120, motion="slow"))
    mesh = root / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh)
    rng = np.random.default_rng(7)
    other = BoxDetection("table", 0.7, PixelBox(40.0, 40.0, 30.0, 30.0))
    frames = []
    for i, frame in enumerate(sequence_frames(seq)):
        detections = None
        if i % 3 == 0 and frame.mask is not None and frame.mask.any():
            box = jittered_box(PixelBox.around(frame.mask), rng)
            detections = (other, BoxDetection(CLASS_ID, 0.9, box))
        frames.append(dataclasses.replace(frame, mask=None, detections=detections))
    inputs = {name: topic for name, topic in stream_plan(TOPICS).inputs.items() if name != "mask"}
    plan = TopicPlan({**inputs, "detections_2d": TOPICS.detections_2d}, None)
    params = [f"class_id:={CLASS_ID}", "object_frame:=part"]
    with node_session(mesh, plan, root / "node.log", params=params) as (_, session):
        session.play(stream_messages(frames, seq.camera, fps=seq.spec.fps, topics=TOPICS))
        session.drain(30.0)
        stamps = sorted(session.published)
        records = session.records({})
        detections = dict(session.received.detections)
        events = session.status_events()
    return seq, stamps, records, detections, events


def test_boxes_alone_register_and_the_poses_are_right(run):
    seq, stamps, records, _, _ = run
    index = {stamp: i for i, stamp in enumerate(stamps)}
    posed = [r for r in records if r.pose is not None]
    assert len(posed) >= 40
    errors = [np.linalg.norm(r.pose[:3, 3] - seq.T_cam_obj_gt[index[r.stamp_ns]][:3, 3]) for r in posed]
    assert np.median(errors) < 0.1 * seq.model.diameter


def test_detections_carry_class_pose_and_score_of_each_posed_frame(run):
    _, _, records, detections, _ = run
    posed = [r for r in records if r.pose is not None]
    assert {r.stamp_ns for r in posed} <= set(detections)
    for record in posed:
        array = detections[record.stamp_ns]
        assert array.header.frame_id == "camera_color_optical_frame"
        (entry,) = array.detections
        assert entry.id == "part" and entry.header == array.header
        (result,) = entry.results
        assert result.hypothesis.class_id == CLASS_ID
        assert result.hypothesis.score == pytest.approx(record.score, abs=1e-6)
        np.testing.assert_allclose(matrix_from_pose(result.pose.pose), record.pose, atol=1e-6)
    without_pose = [r for r in records if r.pose is None and r.stamp_ns in detections]
    assert all(len(detections[r.stamp_ns].detections) == 0 for r in without_pose)


def test_the_other_class_is_reported_in_status(run):
    events = run[4]
    reported = [e for e in events if "'table'" in e.message and "ignored" in e.message]
    # Rate-limited: at most one per warn_period_s (5 s) over the 4 s stream, not one per box.
    assert len(reported) == 1
