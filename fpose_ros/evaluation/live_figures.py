"""The live benchmark's figures per sequence and mask timing, their verdicts and the printed table.

ROS-free: :class:`LiveRun` holds what :mod:`fpose_ros.evaluation.live_benchmark` measured; the
acceptance thresholds are issue 13's (1: masks at 10 Hz, 2: at 3 Hz, 3: beside the offline engine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from fpose_ros.evaluation.detector_masks import MASK_EVERY_VISIBLE_FRAMES
from fpose_ros.evaluation.statistics import OfflineFigures, ScenarioFigures, Target, failed_targets
from fpose_ros.evaluation.tables import columns, number

#: Acceptance 1 of issue 13 (masks at 10 Hz): (label in the table, target).
ACCEPTANCE_10HZ = (
    ("cov", Target("coverage", ">=", 0.95)),
    ("adds", Target("adds_auc", ">=", 0.93)),
    ("loss10", Target("losses_after_registration", "<=", 0)),
    ("hz", Target("output_rate_hz", ">=", 29.0)),
    ("lat", Target("latency_p90_outside_catch_up_ms", "<=", 33.0)),
    ("first", Target("first_pose_after_mask_s", "<=", 0.5)),
)

#: Acceptance 2 (masks at 3 Hz): the same, except coverage >= 0.90.
ACCEPTANCE_3HZ = (("cov", Target("coverage", ">=", 0.90)), *ACCEPTANCE_10HZ[1:])

#: Acceptance 3: live coverage and ADD-S AUC no more than this below the offline engine's on the same frames.
OFFLINE_TOLERANCE = 0.03

ACCEPTANCE_OFFLINE = (
    ("cov", Target("coverage_minus_offline", ">=", -OFFLINE_TOLERANCE)),
    ("adds", Target("adds_auc_minus_offline", ">=", -OFFLINE_TOLERANCE)),
)


@dataclass
class LiveRun:
    """Figures of one sequence under one mask timing (times in s or ms as named, NaN when undefined).

    Attributes:
        mask_every: a mask on every this-many-th visible frame (3: 10 Hz, acceptance 1; else acceptance 2).
        coverage: fraction of visible frames that got a pose carrying their own stamp.
        add_auc, adds_auc: AUC (0-10 cm) over visible frames, a frame without a pose counting as infinite error.
        output_rate_hz: poses received per second while the object is in view (``statistics.output_rate_hz``).
        latency_p50_ms, latency_p90_ms: pose received minus its colour frame published, milliseconds, all poses.
        latency_p90_outside_catch_up_ms: the same p90 over the poses outside the catch-up after a registration.
        catch_up_poses: poses inside a catch-up (registered frames included).
        first_pose_after_mask_s: first mask published -> first pose received, seconds.
        reacquire_s: per loss, first mask published after it -> next pose received, seconds.
        losses: times the status turned "lost" after a pose; loss_causes: their status messages.
        losses_after_registration: those within 10 frames after a registration, where the object was visible
            on that frame and the next.
        cpu_s_per_frame: node process user + system CPU (all threads) during play, per published frame.
        peak_rss_mb: the node's RSS high-water mark (VmHWM), MB.
        offline: the offline engine's figures on the same frames and masks (None: not run).
        scenario: occlusion and leave-and-return figures (issue 14; None: not measured).
    """

    sequence: str
    timing: str
    mask_every: int
    frames: int
    visible_frames: int
    coverage: float
    add_auc: float
    adds_auc: float
    output_rate_hz: float
    latency_p50_ms: float
    latency_p90_ms: float
    latency_p90_outside_catch_up_ms: float
    catch_up_poses: int
    first_pose_after_mask_s: float
    reacquire_s: list[float]
    losses: int
    loss_causes: list[str]
    losses_after_registration: int
    cpu_s_per_frame: float
    peak_rss_mb: float
    offline: OfflineFigures | None = None
    scenario: ScenarioFigures | None = None
    acceptance_failed: list[str] = field(default_factory=list)
    offline_failed: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float | None]:
        """Every number by name, with the live-minus-offline differences (NaN without offline figures)."""
        out: dict[str, float | None] = {k: v for k, v in asdict(self).items() if isinstance(v, int | float)}
        off = self.offline
        out["coverage_minus_offline"] = self.coverage - off.coverage if off else math.nan
        out["adds_auc_minus_offline"] = self.adds_auc - off.adds_auc if off else math.nan
        out["add_auc_minus_offline"] = self.add_auc - off.add_auc if off else math.nan
        return out

    def check(self) -> None:
        """Fill ``acceptance_failed`` (acceptance 1 or 2) and ``offline_failed`` (acceptance 3) with labels."""
        figures = self.figures()
        targets = ACCEPTANCE_10HZ if self.mask_every == MASK_EVERY_VISIBLE_FRAMES else ACCEPTANCE_3HZ
        self.acceptance_failed = failed_labels(figures, targets)
        self.offline_failed = failed_labels(figures, ACCEPTANCE_OFFLINE) if self.offline else []


def failed_labels(figures: dict[str, float | None], targets: tuple[tuple[str, Target], ...]) -> list[str]:
    """The labels of ``targets`` (label, target) that ``figures`` (figure name -> value) miss, in their order."""
    failed = set(failed_targets(figures, [t for _, t in targets]))
    return [label for label, t in targets if str(t) in failed]


def format_live_table(runs: Sequence[LiveRun]) -> str:
    """One row per sequence and timing, with pass/fail against acceptance 1/2 and 3 (docs/benchmark.md)."""
    header = ["sequence", "timing", "coverage", "ADD AUC", "ADD-S AUC", "offline cov/ADD/ADD-S", "d cov",
              "d ADD-S", "out Hz", "lat p50/p90 ms", "p90 steady ms", "catch-up", "mask->pose s", "reacq s",
              "losses (early)", "CPU s/frame", "peak RSS MB", "acc 1/2", "acc 3"]

    def verdict(failed: list[str], applies: bool = True) -> str:
        return "n/a" if not applies else ("pass" if not failed else "FAIL " + ",".join(failed))

    rows = []
    for r in runs:
        figures = r.figures()
        off = r.offline
        rows.append([
            r.sequence, r.timing, number(r.coverage, ".3f"), number(r.add_auc, ".3f"), number(r.adds_auc, ".3f"),
            "/".join(number(v, ".3f") for v in (off.coverage, off.add_auc, off.adds_auc)) if off else "n/a",
            number(figures["coverage_minus_offline"], "+.3f"), number(figures["adds_auc_minus_offline"], "+.3f"),
            number(r.output_rate_hz, ".1f"), f"{number(r.latency_p50_ms, '.1f')}/{number(r.latency_p90_ms, '.1f')}",
            number(r.latency_p90_outside_catch_up_ms, ".1f"), str(r.catch_up_poses),
            number(r.first_pose_after_mask_s, ".2f"), number(max(r.reacquire_s), ".2f") if r.reacquire_s else "-",
            f"{r.losses} ({r.losses_after_registration})", number(r.cpu_s_per_frame, ".4f"),
            number(r.peak_rss_mb, ".0f"),
            verdict(r.acceptance_failed), verdict(r.offline_failed, off is not None)])
    return columns(header, rows)
