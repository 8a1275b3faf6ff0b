"""The live benchmark: benchmark sequences played into a real ``fpose_node`` process over DDS, in real time.

``python -m fpose_ros.bench --live`` (``make bench-live``) runs this. Per sequence and mask timing a
fresh node is started as the README says (``python -m fpose_ros.node --ros-args -p mesh_file:=...
-r ...``); the sequence is published at 30 Hz with header stamps equal to the wall clock at publish
(as a live camera), masks on the detector schedule (:mod:`fpose_ros.evaluation.detector_masks`,
10 Hz) published at an offset from their frame, or at 3 Hz. The node's poses and statuses are
recorded and scored in this process.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpose_ros.core.object_model import load_object_model
from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import SyntheticSequence
from fpose_ros.evaluation.detector_masks import MaskTiming, detector_mask_frames
from fpose_ros.replay import NodeProcess, ReplayOptions, ReplaySession, TopicPlan, node_arguments, ros_environment
from fpose_ros.ros.bag_io import BagMessage
from fpose_ros.ros.evaluation import FrameRecord, evaluate
from fpose_ros.ros.stream_messages import StreamFrame, StreamTopics, stream_messages


@dataclass
class LiveRun:
    """Figures of one sequence under one mask timing (times in s or ms as named, NaN when undefined).

    Attributes:
        coverage: fraction of visible frames that got a pose carrying their own stamp.
        add_auc, adds_auc: AUC (0-10 cm) over visible frames, a frame without a pose counting as infinite error.
        output_rate_hz: poses received per second (first to last pose).
        latency_p50_ms, latency_p90_ms: pose received minus its colour frame published, milliseconds.
        first_pose_after_mask_s: first mask published -> first pose received, seconds.
        losses: times the status turned "lost" after a pose; loss_causes: their status messages.
        cpu_s_per_frame: node process user + system CPU (all threads) during play, per published frame.
        peak_rss_mb: the node's RSS high-water mark (VmHWM), MB.
    """

    sequence: str
    timing: str
    frames: int
    visible_frames: int
    coverage: float
    add_auc: float
    adds_auc: float
    output_rate_hz: float
    latency_p50_ms: float
    latency_p90_ms: float
    first_pose_after_mask_s: float
    losses: int
    loss_causes: list[str]
    cpu_s_per_frame: float
    peak_rss_mb: float


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, all its threads (/proc/PID/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15 of stat(5)


def process_peak_rss_mb(pid: int) -> float:
    """RSS high-water mark of process ``pid`` (VmHWM), MB."""
    return _status_mb(pid, "VmHWM")


def process_rss_mb(pid: int) -> float:
    """Current RSS of process ``pid`` (VmRSS), MB."""
    return _status_mb(pid, "VmRSS")


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def live_messages(seq: SyntheticSequence, mask_given: np.ndarray, timing: MaskTiming, start_ns: int,
                  topics: StreamTopics) -> Iterator[BagMessage]:
    """The sequence's messages in publish order; ``timestamp_ns`` is the planned publish time.

    Frame i carries stamp ``start_ns + i / fps``, its mask (where ``mask_given[i]``) the same stamp
    but is due ``timing.offset_s`` later. Messages are serialised only when the consumer asks for
    the next one, one frame ahead at most, so the sequence never sits in memory twice.
    """
    period_ns = int(round(1e9 / seq.spec.fps))
    lead_ns = max(0, int(-timing.offset_s * 1e9))
    order = itertools.count()
    pending: list[tuple[int, int, BagMessage]] = []
    next_frame = 0
    while next_frame < len(seq.frames) or pending:
        while next_frame < len(seq.frames) and (
                not pending or start_ns + next_frame * period_ns - lead_ns <= pending[0][0]):
            frame = seq.frames[next_frame]
            mask = seq.masks[next_frame] if mask_given[next_frame] else None
            for message in stream_messages([StreamFrame(frame.rgb, frame.depth, mask)], seq.camera,
                                           fps=seq.spec.fps, start_ns=start_ns + next_frame * period_ns,
                                           mask_delay_s=timing.offset_s, topics=topics):
                heapq.heappush(pending, (message.timestamp_ns, next(order), message))
            next_frame += 1
        yield heapq.heappop(pending)[2]


def _losses(session: ReplaySession) -> tuple[int, list[str]]:
    """How often the status went to "lost" after a pose had been given, with each loss's status message."""
    causes: list[str] = []
    posed = False
    previous = ""
    for status in session.statuses_received():
        if status.mode_name == "lost" and previous != "lost" and posed:
            causes.append(status.message)
        posed = posed or status.mode_name == "tracking"
        previous = status.mode_name
    return len(causes), causes


@contextmanager
def live_node(seq: SyntheticSequence, work_dir: Path, startup_timeout_s: float = 120.0
              ) -> Iterator[tuple[NodeProcess, ReplaySession, Path]]:
    """A fresh fpose_node for ``seq``'s object, matched with a publishing session; its log in ``work_dir``.

    Yields the node, the session and the mesh file; both are stopped on exit.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    mesh_path = work_dir / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh_path)
    topics = StreamTopics()
    plan = TopicPlan({"color/image_raw": topics.color, "depth/image_raw": topics.depth,
                      "color/camera_info": topics.camera_info, "mask": topics.mask}, None)
    env = ros_environment()
    os.environ.update({k: v for k, v in env.items() if k.endswith("_DEFAULT_PROFILES_FILE")})
    arguments = node_arguments(ReplayOptions(bag=work_dir, mesh=mesh_path, out=work_dir), plan)
    node = NodeProcess(arguments, work_dir / "node.log", env)
    try:
        session = ReplaySession(plan, writer=None)
        try:
            session.wait_for_node(node, startup_timeout_s)
            yield node, session, mesh_path
        finally:
            session.close()
    finally:
        node.stop()


def play_live(session: ReplaySession, seq: SyntheticSequence, timing: MaskTiming) -> int:
    """Publish ``seq`` once in real time, stamps from now on; returns the first frame's stamp (ns)."""
    mask_given = detector_mask_frames(seq.masks, seq.visible, every=timing.every)
    start_ns = time.time_ns() + 50_000_000  # ReplaySession.play publishes the first message 50 ms on
    session.play(live_messages(seq, mask_given, timing, start_ns, StreamTopics()))
    return start_ns


def run_live(seq: SyntheticSequence, timing: MaskTiming, work_dir: Path, drain_timeout_s: float = 5.0) -> LiveRun:
    """Play ``seq`` into a fresh fpose_node under ``timing`` and score what it published."""
    with live_node(seq, work_dir) as (node, session, mesh_path):
        cpu_before = process_cpu_s(node.process.pid)
        play_live(session, seq, timing)
        session.drain(drain_timeout_s)
        cpu_s = process_cpu_s(node.process.pid) - cpu_before
        peak_rss_mb = process_peak_rss_mb(node.process.pid)
    return score_live(seq, timing, session, mesh_path, cpu_s, peak_rss_mb)


def mesh_frame_points(mesh_path: Path) -> tuple[np.ndarray, float]:
    """(N, 3) float64 surface points of the mesh in its own frame (the frame of the node's poses), metres,
    and the object's diameter, metres."""
    model = load_object_model(mesh_path)
    T_mesh_centered = np.linalg.inv(model.T_centered_mesh)
    points = model.surface_points.astype(np.float64) @ T_mesh_centered[:3, :3].T + T_mesh_centered[:3, 3]
    return points, float(model.diameter)


def score_live(seq: SyntheticSequence, timing: MaskTiming, session: ReplaySession, mesh_path: Path,
               cpu_s: float, peak_rss_mb: float) -> LiveRun:
    """The figures of one played sequence from what ``session`` recorded."""
    points, _ = mesh_frame_points(mesh_path)
    records = session.records({})
    for record, T_gt in zip(records, seq.T_cam_obj_gt, strict=True):
        record.gt = T_gt
    visible: list[FrameRecord] = [r for r, v in zip(records, seq.visible, strict=True) if v]
    summary = evaluate(visible, points)
    mask_times = sorted(session.mask_published_s.values())
    pose_times = sorted(r.pose_received_s for r in records if r.pose_received_s is not None)
    first_pose = (pose_times[0] - mask_times[0]) if mask_times and pose_times else math.nan
    losses, causes = _losses(session)
    return LiveRun(sequence=seq.spec.name, timing=timing.name, frames=len(records), visible_frames=len(visible),
                   coverage=summary.coverage, add_auc=_number(summary.add_auc), adds_auc=_number(summary.adds_auc),
                   output_rate_hz=summary.output_rate_hz, latency_p50_ms=summary.latency_p50_ms,
                   latency_p90_ms=summary.latency_p90_ms, first_pose_after_mask_s=first_pose, losses=losses,
                   loss_causes=causes, cpu_s_per_frame=cpu_s / max(len(records), 1), peak_rss_mb=peak_rss_mb)


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_live_benchmark(sequences: Sequence[SyntheticSequence], timings: Sequence[MaskTiming],
                       work_dir: Path | None = None) -> list[LiveRun]:
    """Every sequence under every timing, one fresh node each."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="fpose_live_") as scratch:
        root = work_dir or Path(scratch)
        for seq in sequences:
            for timing in timings:
                runs.append(run_live(seq, timing, root / f"{seq.spec.name}_{timing.name}"))
    return runs


def format_live_table(runs: Sequence[LiveRun]) -> str:
    """One row per sequence and timing."""
    header = ["sequence", "timing", "coverage", "ADD AUC", "ADD-S AUC", "out Hz", "lat p50 ms", "lat p90 ms",
              "mask->pose s", "losses", "CPU s/frame", "peak RSS MB"]

    def cell(value: float, fmt: str) -> str:
        return "n/a" if not math.isfinite(value) else format(value, fmt)

    rows = [[r.sequence, r.timing, cell(r.coverage, ".3f"), cell(r.add_auc, ".3f"), cell(r.adds_auc, ".3f"),
             cell(r.output_rate_hz, ".1f"), cell(r.latency_p50_ms, ".1f"), cell(r.latency_p90_ms, ".1f"),
             cell(r.first_pose_after_mask_s, ".2f"), str(r.losses), cell(r.cpu_s_per_frame, ".4f"),
             cell(r.peak_rss_mb, ".0f")] for r in runs]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    line = " | ".join("{:<" + str(w) + "}" for w in widths)
    return "\n".join([line.format(*header), "-+-".join("-" * w for w in widths), *(line.format(*r) for r in rows)])
