"""The live soak: one sequence looped into one fpose_node for a while, stamps moving on.

``python -m fpose_ros.bench --live --soak SECONDS`` (``make soak``) runs this. The node registers,
tracks, loses and re-registers the object on every loop (the object jumps back to its first pose
when a loop restarts, and the exit-and-return sequence leaves the view in the middle). What it
measures: the node's RSS growth after the first minute, exceptions in the node's log, wrong poses
(ADD-S above 10 % of the object's diameter) on frames the node gave a pose for, i.e. while it said
it was tracking, and the latency over time, two ways:

* issue 13's acceptance 6, the latency as its acceptance 1 defines it (the poses outside the
  catch-up right after a registration): per minute of whole loops
  (:func:`~fpose_ros.evaluation.statistics.loop_windows`, the same frames in every minute), the
  last minute's p90 within 10 % of the first minute's, either way; the catch-up poses' p90 beside it;
* over every pose, the first and the last 60 s by publish time, within 10 % either way. That p90
  is mostly catch-up poses (about 15 registrations a minute, each followed by a backlog of frames
  whose latency is of the order of the registration's time), so it moves with how many
  registrations fall into a window and how long they took, not with how fast the node tracks; and
  the first minute holds one registration more than the others: the first one, on the loop's first
  frame, which every later loop tracks across.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpose_ros.core.metrics import adds_error
from fpose_ros.core.synthetic.sequences import SyntheticSequence
from fpose_ros.evaluation.detector_masks import MaskTiming
from fpose_ros.evaluation.live_benchmark import live_node, play_live
from fpose_ros.evaluation.resources import rss_mb
from fpose_ros.evaluation.statistics import (
    LatencyWindow,
    loop_windows,
    mesh_frame_points,
    percentile,
    relative_change,
)
from fpose_ros.evaluation.tables import columns, number, pairs

#: RSS growth is measured from this many seconds on (start-up allocations and caches settle first).
SETTLE_S = 60.0
#: A window of this many seconds at the start and at the end for the latency comparison.
WINDOW_S = 60.0
#: Issue 13's acceptance 6: the last minute's latency p90 within this fraction of the first minute's, either way.
LATENCY_TOLERANCE = 0.10
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
            ``WINDOW_S`` seconds (by publish time), every pose, catch-up included.
        minutes: per minute of whole loops (about ``WINDOW_S`` each), poses, registrations and latency
            p90 over all, steady (outside the catch-up: acceptance 1's latency) and catch-up poses; the
            first entry is the first minute, the last entry the last minute.
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
    minutes: list[LatencyWindow]
    exceptions: int
    wrong_poses: int

    @property
    def latency_change(self) -> float:
        """The last 60 s' all-pose latency p90 against the first 60 s', as a fraction (+0.1: 10 % higher)."""
        return relative_change(self.latency_p90_last_ms, self.latency_p90_first_ms)

    def minute_changes(self) -> tuple[float, float]:
        """The last minute's steady and catch-up latency p90 against the first minute's, as fractions.

        The steady one is acceptance 6's figure; NaN where the soak has no minute or a p90 is undefined.
        """
        if not self.minutes:
            return math.nan, math.nan
        first, last = self.minutes[0], self.minutes[-1]
        return (relative_change(last.p90_steady_ms, first.p90_steady_ms),
                relative_change(last.p90_catch_up_ms, first.p90_catch_up_ms))


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
    minute_loops = max(1, round(WINDOW_S * seq.spec.fps / len(seq.frames)))
    return SoakResult(
        sequence=seq.spec.name, timing=timing.name, duration_s=t1 - t0, loops=loops, frames=len(records),
        poses=len(posed), rss_samples=rss, rss_growth_mb=settled[-1] - settled[0],
        latency_p90_first_ms=percentile([r.latency_ms for r in posed
                                         if r.published_s is not None and r.published_s < t0 + WINDOW_S], 90),
        latency_p90_last_ms=percentile([r.latency_ms for r in posed
                                        if r.published_s is not None and r.published_s > t1 - WINDOW_S], 90),
        minutes=loop_windows(records, len(seq.frames), minute_loops),
        exceptions=sum(("Traceback" in line or "Exception" in line or "Error:" in line) for line in log),
        wrong_poses=int(wrong))


def format_soak_table(result: SoakResult) -> str:
    """The soak's figures as a two-column table, then its minutes (whole loops) one per row."""
    steady, catch_up = result.minute_changes()
    (first_steady, first_catch_up), (last_steady, last_catch_up) = (
        [(m.p90_steady_ms, m.p90_catch_up_ms) for m in (result.minutes[0], result.minutes[-1])]
        if result.minutes else [(math.nan, math.nan)] * 2)
    rows = [
        ("sequence (timing)", f"{result.sequence} ({result.timing})"),
        ("played", f"{number(result.duration_s, '.0f')} s, {result.loops} loops, {result.frames} frames"),
        ("poses", str(result.poses)),
        (f"RSS growth after {SETTLE_S:.0f} s", number(result.rss_growth_mb, "+.1f") + " MB"),
        ("latency p90 first / last minute", _comparison(first_steady, last_steady, steady, "outside the catch-up")),
        ("catch-up latency p90 first / last", _comparison(first_catch_up, last_catch_up, catch_up)),
        ("all-pose latency p90 first / last", _comparison(result.latency_p90_first_ms, result.latency_p90_last_ms,
                                                          result.latency_change, "first and last 60 s")),
        ("exceptions in node log", str(result.exceptions)),
        (f"wrong poses (ADD-S > {WRONG_POSE_DIAMETERS:.0%} diameter)", str(result.wrong_poses)),
    ]
    header = ("minute", "loops", "poses", "registrations", "p90 all ms", "p90 steady ms", "p90 catch-up ms")
    minutes = [(_minute_number(result, m), f"{m.first_loop + 1}-{m.first_loop + m.loops}", str(m.poses),
                str(m.registrations), number(m.p90_all_ms, ".1f"), number(m.p90_steady_ms, ".1f"),
                number(m.p90_catch_up_ms, ".1f")) for m in result.minutes]
    return pairs(rows) + "\n\n" + columns(header, minutes)


def _comparison(first_ms: float, last_ms: float, change: float, which: str = "") -> str:
    """"first / last ms, which (change: within|outside ±tolerance)" (NaN: "n/a")."""
    values = f"{number(first_ms, '.1f')} / {number(last_ms, '.1f')}"
    verdict = "n/a" if math.isnan(change) else "within" if abs(change) <= LATENCY_TOLERANCE else "outside"
    return (f"{values} ms{f', {which}' if which else ''} "
            f"({_percent(change)}: {verdict} ±{LATENCY_TOLERANCE:.0%})")


def _minute_number(result: SoakResult, minute: LatencyWindow) -> str:
    """1-based number of a minute of whole loops ("last" for the last, when it overlaps the one before)."""
    if minute is result.minutes[-1] and minute.first_loop % minute.loops:
        return "last"
    return str(minute.first_loop // minute.loops + 1)


def _percent(change: float) -> str:
    return "n/a" if math.isnan(change) else number(change * 100, "+.1f") + " %"
