"""The live soak: one sequence looped into one fpose_node for a while, stamps moving on.

``python -m fpose_ros.bench --live --soak SECONDS`` (``make soak``) runs this. The node registers,
tracks, loses and re-registers the object on every loop (the object jumps back to its first pose
when a loop restarts, and the exit-and-return sequence leaves the view in the middle). What it
measures: the node's RSS growth after the first minute, the latency p90 of the first and of the last
minute, exceptions in the node's log, and wrong poses (ADD-S above 10 % of the object's diameter) on
frames the node gave a pose for, i.e. while it said it was tracking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpose_ros.core.metrics import adds_error
from fpose_ros.core.synthetic.sequences import SyntheticSequence
from fpose_ros.evaluation.detector_masks import MaskTiming
from fpose_ros.evaluation.live_benchmark import live_node, play_live
from fpose_ros.evaluation.resources import rss_mb
from fpose_ros.evaluation.statistics import mesh_frame_points, percentile
from fpose_ros.evaluation.tables import number, pairs

#: RSS growth is measured from this many seconds on (start-up allocations and caches settle first).
SETTLE_S = 60.0
#: A window of this many seconds at the start and at the end for the latency comparison.
WINDOW_S = 60.0
#: A pose is wrong when its ADD-S exceeds this fraction of the object's diameter.
WRONG_POSE_DIAMETERS = 0.1


@dataclass
class SoakResult:
    """Figures of one soak (MB, ms, seconds as named; NaN where undefined).

    Attributes:
        rss_samples: (seconds since start, VmRSS MB) after every loop.
        rss_growth_mb: RSS at the end minus RSS at the first sample from ``SETTLE_S`` on (from the
            first sample when the soak is shorter).
        latency_p90_first_ms, latency_p90_last_ms: p90 of pose latency over the first and the last
            ``WINDOW_S`` seconds (by publish time).
        exceptions: lines of the node's log that report an exception or a traceback.
        wrong_poses: published poses with ADD-S > 10 % of the diameter, out of ``poses``.
    """

    sequence: str
    timing: str
    duration_s: float
    loops: int
    frames: int
    poses: int
    rss_samples: list[tuple[float, float]]
    rss_growth_mb: float
    latency_p90_first_ms: float
    latency_p90_last_ms: float
    exceptions: int
    wrong_poses: int


def run_soak(seq: SyntheticSequence, timing: MaskTiming, duration_s: float, work_dir: Path) -> SoakResult:
    """Loop ``seq`` into one fpose_node for ``duration_s`` seconds (whole loops) and score it."""
    truth: dict[int, np.ndarray] = {}
    period_ns = int(round(1e9 / seq.spec.fps))
    rss: list[tuple[float, float]] = []
    loops = 0
    with live_node(seq, work_dir) as (node, session, mesh_path):
        start = time.monotonic()
        while time.monotonic() - start < duration_s:
            start_ns = play_live(session, seq, timing)
            truth.update({start_ns + i * period_ns: T for i, T in enumerate(seq.T_cam_obj_gt)})
            loops += 1
            rss.append((time.monotonic() - start, rss_mb(node.process.pid)))
        session.drain(5.0)
        log_path = node.log_path
    records = session.records(truth)
    points, diameter = mesh_frame_points(mesh_path)
    posed = [r for r in records if r.pose is not None]
    # Every frame of a soak has ground truth; a pose without it could not be judged either way.
    wrong = sum(adds_error(points, r.pose, r.gt) > WRONG_POSE_DIAMETERS * diameter
                for r in posed if r.pose is not None and r.gt is not None)
    settled = [mb for t, mb in rss if t >= SETTLE_S] or [mb for _, mb in rss]
    sent = [r.published_s for r in records if r.published_s is not None]  # records are of published frames
    t0, t1 = min(sent), max(sent)
    log = log_path.read_text(errors="replace").splitlines()
    return SoakResult(
        sequence=seq.spec.name, timing=timing.name, duration_s=t1 - t0, loops=loops, frames=len(records),
        poses=len(posed), rss_samples=rss, rss_growth_mb=settled[-1] - settled[0],
        latency_p90_first_ms=percentile([r.latency_ms for r in posed
                                         if r.published_s is not None and r.published_s < t0 + WINDOW_S], 90),
        latency_p90_last_ms=percentile([r.latency_ms for r in posed
                                        if r.published_s is not None and r.published_s > t1 - WINDOW_S], 90),
        exceptions=sum(("Traceback" in line or "Exception" in line or "Error:" in line) for line in log),
        wrong_poses=int(wrong))


def format_soak_table(result: SoakResult) -> str:
    """The soak's figures as a two-column table."""
    rows = [
        ("sequence (timing)", f"{result.sequence} ({result.timing})"),
        ("played", f"{number(result.duration_s, '.0f')} s, {result.loops} loops, {result.frames} frames"),
        ("poses", str(result.poses)),
        (f"RSS growth after {SETTLE_S:.0f} s", number(result.rss_growth_mb, "+.1f") + " MB"),
        ("latency p90 first / last minute", f"{number(result.latency_p90_first_ms, '.1f')} / "
                                            f"{number(result.latency_p90_last_ms, '.1f')} ms"),
        ("exceptions in node log", str(result.exceptions)),
        (f"wrong poses (ADD-S > {WRONG_POSE_DIAMETERS:.0%} diameter)", str(result.wrong_poses)),
    ]
    return pairs(rows)
