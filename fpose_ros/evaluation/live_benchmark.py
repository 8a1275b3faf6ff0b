"""The live benchmark: benchmark sequences played into a real ``fpose_node`` process over DDS, in real time.

``python -m fpose_ros.bench --live`` (``make bench-live``) runs this. Per sequence and mask timing a
fresh node is started as the README says (``python -m fpose_ros.node --ros-args -p mesh_file:=...
-r ...``); the sequence is published at 30 Hz with header stamps equal to the wall clock at publish
(as a live camera), masks on the detector schedule (:mod:`fpose_ros.evaluation.detector_masks`,
10 Hz) published at an offset from their frame, or at 3 Hz. The node's poses and statuses are
recorded and scored in this process (:mod:`fpose_ros.evaluation.statistics` defines the
catch-up and early losses, :mod:`fpose_ros.evaluation.live_figures` the figures, verdicts and
table), beside the offline engine's figures on the same frames and masks where the caller gives
them (:class:`~fpose_ros.evaluation.statistics.OfflineFigures`).
"""

from __future__ import annotations

import heapq
import itertools
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.synthetic.assets import export_asset
from fpose_ros.core.synthetic.sequences import SyntheticSequence
from fpose_ros.evaluation import resources
from fpose_ros.evaluation.detector_masks import MaskTiming, detector_mask_frames
from fpose_ros.evaluation.live_figures import LiveRun
from fpose_ros.evaluation.node_process import NodeProcess, node_session
from fpose_ros.evaluation.sequence_registry import scenario_kind, visible_fractions
from fpose_ros.evaluation.statistics import (
    FrameRecord,
    OfflineFigures,
    evaluate,
    fill_errors,
    latency_outside_catch_up_ms,
    losses,
    losses_after_registration,
    mesh_frame_points,
    output_rate_hz,
    reacquisition_delays,
    scenario_figures,
)
from fpose_ros.ros.bag_io import BagMessage
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.replay_session import ReplaySession
from fpose_ros.ros.stream_messages import StreamFrame, StreamTopics, stream_messages


def live_messages(seq: SyntheticSequence, mask_given: np.ndarray, timing: MaskTiming, start_ns: int,
                  topics: StreamTopics) -> Iterator[BagMessage]:
    """The sequence's messages in publish order; ``timestamp_ns`` is the planned publish time.

    Frame i carries stamp ``start_ns + i / fps``, its mask (where ``mask_given[i]``) the same stamp
    but is due ``timing.offset_s`` later (:func:`timed_messages`).
    """
    masks = [m if given else None for m, given in zip(seq.masks, mask_given, strict=True)]
    return timed_messages(seq.frames, masks, seq.camera, seq.spec.fps, timing, start_ns, topics)


def timed_messages(frames: Sequence[RGBDFrame], masks: Sequence[np.ndarray | None], camera: CameraIntrinsics,
                   fps: float, timing: MaskTiming, start_ns: int, topics: StreamTopics) -> Iterator[BagMessage]:
    """Frames and their masks (a mask or label image each, None: none) as messages in publish order.

    Frame i carries stamp ``start_ns + i / fps``, its mask the same stamp but is due ``timing.offset_s``
    later; ``timestamp_ns`` is the planned publish time. Messages are serialised only when the consumer
    asks for the next one, one frame ahead at most, so the sequence never sits in memory twice.
    """
    period_ns = int(round(1e9 / fps))
    lead_ns = max(0, int(-timing.offset_s * 1e9))
    order = itertools.count()
    pending: list[tuple[int, int, BagMessage]] = []
    next_frame = 0
    while next_frame < len(frames) or pending:
        while next_frame < len(frames) and (
                not pending or start_ns + next_frame * period_ns - lead_ns <= pending[0][0]):
            frame = frames[next_frame]
            for message in stream_messages([StreamFrame(frame.rgb, frame.depth, masks[next_frame])], camera,
                                           fps=fps, start_ns=start_ns + next_frame * period_ns,
                                           mask_delay_s=timing.offset_s, topics=topics):
                heapq.heappush(pending, (message.timestamp_ns, next(order), message))
            next_frame += 1
        yield heapq.heappop(pending)[2]


@contextmanager
def live_node(seq: SyntheticSequence, work_dir: Path, startup_timeout_s: float = 120.0
              ) -> Iterator[tuple[NodeProcess, ReplaySession, Path]]:
    """A fresh fpose_node for ``seq``'s object, matched with a publishing session; its log in ``work_dir``.

    Yields the node, the session and the mesh file; both are stopped on exit.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    mesh_path = export_asset(seq.spec.asset, work_dir)
    with node_session(mesh_path, stream_plan(), work_dir / "node.log", startup_timeout_s=startup_timeout_s
                      ) as (node, session):
        yield node, session, mesh_path


def play_live(session: ReplaySession, seq: SyntheticSequence, timing: MaskTiming) -> int:
    """Publish ``seq`` once in real time, stamps from now on; returns the first frame's stamp (ns)."""
    mask_given = detector_mask_frames(seq.masks, seq.visible, every=timing.every)
    start_ns = time.time_ns() + 50_000_000  # ReplaySession.play publishes the first message 50 ms on
    session.play(live_messages(seq, mask_given, timing, start_ns, StreamTopics()))
    return start_ns


def run_live(seq: SyntheticSequence, timing: MaskTiming, work_dir: Path, drain_timeout_s: float = 5.0) -> LiveRun:
    """Play ``seq`` into a fresh fpose_node under ``timing`` and score what it published."""
    with live_node(seq, work_dir) as (node, session, mesh_path):
        cpu_before = resources.process_cpu_s(node.process.pid)
        play_live(session, seq, timing)
        session.drain(drain_timeout_s)
        cpu_s = resources.process_cpu_s(node.process.pid) - cpu_before
        peak_rss_mb = resources.peak_rss_mb(node.process.pid)
    return score_live(seq, timing, session, mesh_path, cpu_s, peak_rss_mb)


def score_live(seq: SyntheticSequence, timing: MaskTiming, session: ReplaySession, mesh_path: Path,
               cpu_s: float, peak_rss_mb: float) -> LiveRun:
    """The figures of one played sequence from what ``session`` recorded."""
    points, diameter = mesh_frame_points(mesh_path)
    records = session.records({})
    for record, T_gt, in_view in zip(records, seq.T_cam_obj_gt, seq.visible, strict=True):
        record.gt, record.in_view = T_gt, bool(in_view)
    fill_errors(records, points)
    visible: list[FrameRecord] = [r for r in records if r.in_view]
    summary = evaluate(visible, points)  # coverage and AUCs over the visible frames; the rate over all (in view)
    mask_times = sorted(session.mask_published_s.values())
    pose_times = sorted(r.pose_received_s for r in records if r.pose_received_s is not None)
    first_pose = (pose_times[0] - mask_times[0]) if mask_times and pose_times else math.nan
    events = session.status_events()
    lost = losses(events)
    early = losses_after_registration(events, {r.stamp_ns: i for i, r in enumerate(records)}, seq.visible)
    steady_p90, catch_up = latency_outside_catch_up_ms(records)
    run = LiveRun(sequence=seq.spec.name, timing=timing.name, mask_every=timing.every, frames=len(records),
                  visible_frames=len(visible), coverage=summary.coverage, add_auc=_number(summary.add_auc),
                  adds_auc=_number(summary.adds_auc), output_rate_hz=output_rate_hz(records),
                  latency_p50_ms=summary.latency_p50_ms, latency_p90_ms=summary.latency_p90_ms,
                  latency_p90_outside_catch_up_ms=steady_p90, catch_up_poses=catch_up,
                  first_pose_after_mask_s=first_pose, reacquire_s=reacquisition_delays(records), losses=len(lost),
                  loss_causes=[e.message for e in lost], losses_after_registration=len(early),
                  cpu_s_per_frame=cpu_s / max(len(records), 1), peak_rss_mb=peak_rss_mb,
                  scenario=scenario_figures(records, diameter, visible_fractions(seq), scenario_kind(seq)))
    run.check()
    return run


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_live_benchmark(sequences: Sequence[SyntheticSequence], timings: Sequence[MaskTiming],
                       work_dir: Path | None = None,
                       offline: Callable[[SyntheticSequence, int], OfflineFigures] | None = None) -> list[LiveRun]:
    """Every sequence under every timing, one fresh node each.

    ``offline(seq, mask_every)`` gives the offline engine's figures on the same frames and masks; it
    runs before the sequence's live runs (once per mask schedule), so that it never competes with a node.
    """
    runs = []
    with tempfile.TemporaryDirectory(prefix="fpose_live_") as scratch:
        root = work_dir or Path(scratch)
        for seq in sequences:
            engine = {every: offline(seq, every) for every in dict.fromkeys(t.every for t in timings)} \
                if offline is not None else {}
            for timing in timings:
                run = run_live(seq, timing, root / f"{seq.spec.name}_{timing.name}")
                run.offline = engine.get(timing.every)
                run.check()
                runs.append(run)
    return runs


