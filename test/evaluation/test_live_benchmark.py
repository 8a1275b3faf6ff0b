"""The live benchmark end to end: a short moving sequence into a real fpose_node over DDS, one mask timing."""

import dataclasses
import math

import numpy as np
import pytest

from fpose_ros.core.synthetic.sequences import benchmark_specs, render_sequence
from fpose_ros.evaluation.detector_masks import MASK_TIMINGS, detector_mask_frames
from fpose_ros.evaluation.live_benchmark import live_messages, run_live
from fpose_ros.evaluation.live_figures import format_live_table
from fpose_ros.ros.bag_io import header_stamp_ns
from fpose_ros.ros.stream_messages import StreamTopics

pytestmark = [pytest.mark.ros, pytest.mark.slow]

WITH_FRAME = next(t for t in MASK_TIMINGS if t.name == "with")
BEFORE_FRAME = next(t for t in MASK_TIMINGS if t.offset_s < 0)


@pytest.fixture(scope="module")
def sequence():
    spec = next(s for s in benchmark_specs() if s.name == "proc2_handheld")
    return render_sequence(dataclasses.replace(spec, n_frames=45))


def test_masks_are_published_at_their_offset_in_stamp_order_of_frames(sequence):
    topics = StreamTopics()
    given = detector_mask_frames(sequence.masks, sequence.visible, every=BEFORE_FRAME.every)
    start = 1_000_000_000_000
    messages = list(live_messages(sequence, given, BEFORE_FRAME, start, topics))
    times = [m.timestamp_ns for m in messages]
    assert times == sorted(times)
    masks = [m for m in messages if m.topic == topics.mask]
    assert len(masks) == int(given.sum()) > 0
    for mask in masks:
        assert mask.timestamp_ns == header_stamp_ns(mask.raw) + int(BEFORE_FRAME.offset_s * 1e9)


def test_the_live_benchmark_gives_sane_figures(sequence, tmp_path):
    run = run_live(sequence, WITH_FRAME, tmp_path)
    print(format_live_table([run]))
    assert run.frames == len(sequence.frames) and run.visible_frames == int(np.sum(sequence.visible))
    assert 0.0 < run.coverage <= 1.0
    assert 0.0 < run.adds_auc <= 1.0 and 0.0 <= run.add_auc <= run.adds_auc
    for value in (run.output_rate_hz, run.latency_p50_ms, run.latency_p90_ms, run.first_pose_after_mask_s,
                  run.cpu_s_per_frame, run.peak_rss_mb):
        assert math.isfinite(value) and value > 0, run
    assert run.latency_p50_ms <= run.latency_p90_ms
    assert run.losses == len(run.loss_causes)
    # The registration is a catch-up pose; the poses after it are the steady ones.
    assert run.catch_up_poses >= 1 and math.isfinite(run.latency_p90_outside_catch_up_ms)
    assert 0 <= run.losses_after_registration <= run.losses and len(run.reacquire_s) <= run.losses
    assert run.offline is None and run.offline_failed == []
