"""The offline benchmark's protocol and figures: the engine (or a peer) over the synthetic sequences.

``python -m fpose_ros.bench`` (:mod:`fpose_ros.bench`, the CLI) prints a table of
registration time and success, tracking time, rate and accuracy (ADD / ADD-S AUC over 0-10 cm),
loss detection and re-acquisition, and peak memory, with pass/fail against the project's targets.

Protocol, per sequence (30 Hz, 640x480):

* the tracker (:class:`~fpose_ros.core.tracking_state.ObjectTracker`) runs over every frame, given
  the detector mask as a live detector gives it (:mod:`fpose_ros.evaluation.detector_masks`: every
  3rd visible frame, only while the mask covers >= 200 pixels); frames where the object is visible
  count for accuracy, a frame without a pose counting as an infinite error;
* as the node after each registration, the frames before the registered one back to the last frame
  processed while tracking (at most ``backfill_frames``) are tracked back from its pose
  (``ObjectTracker.track_back``), so the frames between a return into view and the first mask get poses;
* registration trials: a fresh ``register`` on 4 frames spread over the frames with a detector
  mask, the first one included; success means ADD-S below 10% of the object's diameter;
* ``--boxes``: the detector gives boxes instead of masks, on the same frames (the box around the mask,
  each edge off by up to 5% of its size), and every registration starts from the mask made from the box
  and the depth (:func:`~fpose_ros.evaluation.detector_masks.box_detector_masks`);
* sequences where the object leaves the view: frames from leaving until the tracker reports LOST
  (``loss.detect_frames``), and seconds from its return until a pose again, counting the frame
  period and the processing time of the frame that re-registers (``loss.reacquire_s``).

Each method runs over all sequences in turn, one sequence in memory at a time; its peak RSS is the
process's high-water mark while it ran (reset between methods where Linux allows it).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.metrics import adds_error, auc
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.synthetic.sequences import SequenceSpec, SyntheticSequence, benchmark_specs
from fpose_ros.core.tracking_state import Estimator, LossCriteria, ObjectTracker
from fpose_ros.evaluation import resources
from fpose_ros.evaluation.detector_masks import MASK_EVERY_VISIBLE_FRAMES, box_detector_masks, detector_masks
from fpose_ros.evaluation.sequence_registry import BenchmarkSpec, load_sequence, scenario_kind, visible_fractions
from fpose_ros.evaluation.statistics import (
    FrameRecord,
    OfflineFigures,
    ScenarioFigures,
    Target,
    fill_errors,
    reacquisition_delays,
    scenario_figures,
)
from fpose_ros.evaluation.tables import columns, flatten_keys, format_scenario_table, number
from fpose_ros.ros.frame_scheduler import FrameSchedulerConfig

#: The project's targets for the engine (figures named as the JSON's flattened keys).
TARGETS = (
    Target("registration.median_s", "<=", 1.0),
    Target("registration.success_rate", ">=", 0.95),
    Target("tracking.median_ms", "<=", 15.0),
    Target("tracking.adds_auc", ">=", 0.95),
    Target("tracking.add_auc", ">=", 0.90),
    Target("loss.detect_frames", "<=", 3),
    Target("loss.reacquire_s", "<=", 0.5),
)


REGISTRATION_TRIALS_PER_SEQUENCE = 4
#: Seed of the box detector's jitter (``--boxes``): the same boxes on every run.
BOX_SEED = 15


@dataclass
class SequenceRun:
    """Raw measurements of one method on one sequence (times in ms or s as named, errors in metres)."""

    name: str
    track_ms: list[float] = field(default_factory=list)
    register_s: list[float] = field(default_factory=list)
    register_ok: list[bool] = field(default_factory=list)
    add_m: list[float] = field(default_factory=list)
    adds_m: list[float] = field(default_factory=list)
    detect_frames: int | None = None
    reacquire_s: float | None = None
    poses_while_away: int = 0
    scenario: ScenarioFigures | None = None


@dataclass
class RegistrationStats:
    """Registration from scratch over all trials: seconds, and the fraction with ADD-S < 10% of diameter."""

    median_s: float
    p90_s: float
    success_rate: float
    trials: int


@dataclass
class TrackingStats:
    """Tracking steps (ms, Hz) and accuracy over visible frames (AUC of ADD / ADD-S on 0-10 cm)."""

    median_ms: float
    p90_ms: float
    rate_hz: float
    add_auc: float
    adds_auc: float
    frames: int


@dataclass
class LossStats:
    """Leaving and returning: worst case over the sequences with an exit (None: never happened / no such sequence)."""

    detect_frames: int | None
    reacquire_s: float | None
    poses_while_away: int


@dataclass
class Summary:
    """The figures of one method over all sequences (the JSON's keys)."""

    registration: RegistrationStats
    tracking: TrackingStats
    loss: LossStats
    peak_rss_mb: float


def run_sequence(seq: SyntheticSequence, make_estimator: Callable[[], Estimator],
                 mask_every: int = MASK_EVERY_VISIBLE_FRAMES,
                 registration_trials: int = REGISTRATION_TRIALS_PER_SEQUENCE, box_jitter: float | None = None,
                 track: bool = True, backfill_frames: int = FrameSchedulerConfig().backfill_frames) -> SequenceRun:
    """Run one method over one sequence (see the module docstring for the protocol).

    ``mask_every``: the detector's mask schedule (every this-many-th visible frame); ``registration_trials``:
    how many fresh registrations to time (0: tracking only); ``box_jitter``: None for masks, else boxes
    with each edge off by up to this fraction of the box's size; ``track``: False runs the registration
    trials only; ``backfill_frames``: after a registration, at most this many frames before it are tracked
    back from its pose (the node's ``backfill_frames``; 0: none).
    """
    run = SequenceRun(seq.spec.name)
    points = seq.model.surface_points
    T_gt = seq.T_cam_centered_gt
    diameter = seq.model.diameter

    masks = detector_masks(seq.masks, seq.visible, every=mask_every)
    if box_jitter is not None:
        masks = box_detector_masks(masks, [f.depth for f in seq.frames], diameter,
                                   np.random.default_rng(BOX_SEED), box_jitter)
    mask_idx = np.flatnonzero([m is not None for m in masks])
    trial_frames = mask_idx[np.linspace(0, len(mask_idx) - 1, registration_trials).astype(int)] \
        if registration_trials and mask_idx.size else []
    for i in trial_frames:
        result = make_estimator().register(seq.frames[i], masks[i])
        run.register_s.append(result.timings.total_ms / 1000.0)
        run.register_ok.append(result.T_cam_centered is not None
                               and adds_error(points, result.T_cam_centered, T_gt[i]) < 0.1 * diameter)
    if not track:
        return run

    tracker = ObjectTracker(make_estimator(), LossCriteria())
    left = None
    period = 1.0 / seq.spec.fps
    posed_until = -1  # the last frame that got a pose: as the node's scheduler, no backfill at or before it
    # Frame i as a live camera would give it: published at i periods, its pose after the processing time.
    records = []
    for i, frame in enumerate(seq.frames):
        result = tracker.process(frame, masks[i])
        records.append(FrameRecord(stamp_ns=i, published_s=i * period, in_view=bool(seq.visible[i]),
                                   pose=result.T_cam_centered if result.has_pose else None,
                                   pose_received_s=i * period + result.timings.total_ms / 1000.0, gt=T_gt[i],
                                   masked=masks[i] is not None, hypotheses=result.n_hypotheses))
        if result.n_hypotheses == 1 and result.mode is TrackingMode.TRACKING:
            run.track_ms.append(result.timings.total_ms)
        if result.has_pose and result.n_hypotheses > 1:
            run.track_ms.extend(_track_back(tracker, seq, records, result, i, posed_until, backfill_frames))
        if result.has_pose:
            posed_until = i
        if not seq.visible[i]:
            if left is None:
                left = i
            if run.detect_frames is None and result.mode is TrackingMode.LOST:
                run.detect_frames = i - left + 1
    # The first exit's return (the sequences leave the view once).
    run.reacquire_s = next(iter(reacquisition_delays(records, clock_from="view")), None)
    fill_errors(records, points)
    run.add_m = [r.add for r in records if r.in_view]
    run.adds_m = [r.adds for r in records if r.in_view]
    run.poses_while_away = sum(1 for r in records if not r.in_view and r.pose is not None)
    run.scenario = scenario_figures(records, diameter, visible_fractions(seq), scenario_kind(seq))
    return run


def _track_back(tracker: ObjectTracker, seq: SyntheticSequence, records: list[FrameRecord], result: PoseResult,
                registered: int, posed_until: int, most: int) -> list[float]:
    """As the node after a registration (``result``) on frame ``registered``: poses for the frames before it.

    The frames after ``posed_until`` (at most ``most``, newest first) are tracked back from the registered
    pose (``ObjectTracker.track_back``); their records get the poses, and they and the registered frame's pose
    are received once all are computed (the node publishes them together). Returns the tracking times, ms.
    """
    earlier = list(range(registered - 1, max(posed_until, registered - 1 - most), -1))
    reg = records[registered]
    back = tracker.track_back([seq.frames[j] for j in earlier], result)
    times = [b.timings.total_ms for b in back]
    received = (reg.pose_received_s or 0.0) + sum(times) / 1000.0
    reg.pose_received_s = received
    for j, tracked in zip(earlier, back, strict=False):
        records[j].pose, records[j].pose_received_s, records[j].hypotheses = tracked.T_cam_centered, received, 1
    return times


def registration_stats(runs: Sequence[SequenceRun]) -> RegistrationStats:
    """The registration trials of all runs pooled."""
    reg = np.concatenate([r.register_s for r in runs])
    ok = np.concatenate([r.register_ok for r in runs])
    return RegistrationStats(median_s=float(np.median(reg)), p90_s=float(np.percentile(reg, 90)),
                             success_rate=float(ok.mean()), trials=int(len(ok)))


def summarize(runs: Sequence[SequenceRun], peak_rss_mb: float | None = None) -> Summary:
    """Pool the runs into the published figures; ``peak_rss_mb`` defaults to the process's peak so far."""
    track = np.concatenate([r.track_ms for r in runs]) if any(r.track_ms for r in runs) else np.array([np.nan])
    add = np.concatenate([r.add_m for r in runs])
    adds = np.concatenate([r.adds_m for r in runs])
    detect = [r.detect_frames for r in runs if r.detect_frames is not None]
    reacq = [r.reacquire_s for r in runs if r.reacquire_s is not None]
    missing_reacq = any(r.detect_frames is not None and r.reacquire_s is None for r in runs)
    median_track = float(np.median(track))
    return Summary(
        registration=registration_stats(runs),
        tracking=TrackingStats(median_ms=median_track, p90_ms=float(np.percentile(track, 90)),
                               rate_hz=1000.0 / median_track if median_track > 0 else float("nan"),
                               add_auc=auc(add), adds_auc=auc(adds), frames=int(len(add))),
        loss=LossStats(detect_frames=max(detect) if detect else None,
                       reacquire_s=None if missing_reacq or not reacq else max(reacq),
                       poses_while_away=int(sum(r.poses_while_away for r in runs))),
        peak_rss_mb=peak_rss_mb if peak_rss_mb is not None else resources.peak_rss_mb(),
    )


def offline_figures(seq: SyntheticSequence, make_estimator: Callable[[], Estimator], mask_every: int
                    ) -> OfflineFigures:
    """The offline engine's coverage and AUCs on ``seq``'s visible frames.

    Masks on every ``mask_every``-th visible frame: what the live benchmark sets its node's figures beside
    (no registration trials).
    """
    run = run_sequence(seq, make_estimator, mask_every=mask_every, registration_trials=0)
    adds = np.array(run.adds_m)
    return OfflineFigures(coverage=float(np.isfinite(adds).mean()) if adds.size else math.nan,
                          add_auc=auc(np.array(run.add_m)), adds_auc=auc(adds))


def check_targets(summary: Summary) -> dict[str, bool]:
    """Whether each target of the issue is met (a missing figure fails)."""
    flat = flatten_keys(asdict(summary))
    return {t.figure: t.met(flat.get(t.figure)) for t in TARGETS}


def format_table(ours: Summary, peer: Summary | None = None, peer_name: str = "open3d") -> str:
    """The printed comparison table: one row per figure, the target and whether fpose_ros meets it."""
    rows = [
        ("registration median (s)", "registration.median_s", ".3f"),
        ("registration p90 (s)", "registration.p90_s", ".3f"),
        ("registration success", "registration.success_rate", ".1%"),
        ("tracking median (ms)", "tracking.median_ms", ".1f"),
        ("tracking p90 (ms)", "tracking.p90_ms", ".1f"),
        ("tracking rate (Hz)", "tracking.rate_hz", ".0f"),
        ("ADD AUC (0-10 cm)", "tracking.add_auc", ".3f"),
        ("ADD-S AUC (0-10 cm)", "tracking.adds_auc", ".3f"),
        ("loss detected after (frames)", "loss.detect_frames", ""),
        ("re-acquired after (s)", "loss.reacquire_s", ".3f"),
        ("poses while away", "loss.poses_while_away", ""),
        ("peak RSS (MB)", "peak_rss_mb", ".0f"),
    ]
    targets = {t.figure: f"{t.op} {t.threshold}" for t in TARGETS}
    met = check_targets(ours)
    a, b = flatten_keys(asdict(ours)), flatten_keys(asdict(peer)) if peer else {}
    header = ["metric", "fpose_ros", *([peer_name] if peer else []), "target", "met"]
    lines = []
    for label, key, fmt in rows:
        cells = [label, number(a.get(key), fmt)]
        if peer:
            cells.append(number(b.get(key), fmt))
        cells += [targets.get(key, ""), ("yes" if met[key] else "NO") if key in met else ""]
        lines.append(cells)
    return columns(header, lines)


def quick_specs() -> list[SequenceSpec]:
    """Two short sequences of the benchmark set (a moving object; the exit-and-return one), for tests."""
    specs = benchmark_specs()
    exit_spec = next(s for s in specs if s.exit_and_return)
    moving = next(s for s in specs if not s.exit_and_return and s.motion != "static")
    return [dataclasses.replace(moving, n_frames=20), dataclasses.replace(exit_spec, n_frames=75)]


def run_method(specs: Sequence[BenchmarkSpec], cache: Path | None,
               factory: Callable[[SyntheticSequence], Callable[[], Estimator]], label: str,
               box_jitter: float | None = None, track: bool = True) -> tuple[list[SequenceRun], float]:
    """Run one method over every sequence, one in memory at a time; returns the runs and the peak RSS (MB).

    ``box_jitter``, ``track``: registration from boxes instead of masks, registration trials only (see
    :func:`run_sequence`).
    """
    resources.reset_peak_rss()
    runs = []
    for spec in specs:
        t0 = time.perf_counter()
        seq = load_sequence(spec, cache)
        print(f"[bench] {label} / {spec.name}: {len(seq.frames)} frames "
              f"({time.perf_counter() - t0:.1f} s to load/render)", file=sys.stderr)
        runs.append(run_sequence(seq, factory(seq), box_jitter=box_jitter, track=track))
        print(f"[bench] {label} / {spec.name}: {sum(runs[-1].register_ok)} of {len(runs[-1].register_ok)} "
              "registration trials succeeded", file=sys.stderr)
        del seq
    return runs, resources.peak_rss_mb()


def engine_factory(seq: SyntheticSequence, config: EstimatorConfig) -> Callable[[], Estimator]:
    """The engine for ``seq``'s object, set up and warmed up once; every call returns that one."""
    # One set-up per object: its only state between calls, the tracking keyframe, holds for any pose of it.
    shared = build_estimator(seq.model, config)
    # As the node does at start-up: torch's first calls (allocation, kernel choice) are not the object's cost.
    shared.warm_up(seq.camera)
    return lambda: shared


def peer_factory(seq: SyntheticSequence) -> Callable[[], Estimator]:
    """The Open3D peer for ``seq``'s object (Open3D is imported only here)."""
    from fpose_ros.core.peers.open3d_peer import Open3DPeer

    shared = Open3DPeer(seq.model)
    return lambda: shared


def per_sequence_figures(run: SequenceRun) -> dict[str, object]:
    """One sequence's row of the benchmark's JSON: timings, coverage, accuracy."""
    finite = [e for e in run.adds_m if np.isfinite(e)]
    return {"name": run.name, "tracking_median_ms": float(np.median(run.track_ms)) if run.track_ms else None,
            "registration_median_s": float(np.median(run.register_s)),
            "registration_success": float(np.mean(run.register_ok)), "add_auc": auc(np.array(run.add_m)),
            "adds_auc": auc(np.array(run.adds_m)), "frames_with_pose": len(finite),
            "detect_frames": run.detect_frames, "reacquire_s": run.reacquire_s,
            "scenario": asdict(run.scenario) if run.scenario else None}


def format_scenario_runs(runs: Sequence[SequenceRun]) -> str | None:
    """The occlusion and leave-and-return table (issue 14) of the runs whose sequence has such a scenario."""
    rows = [(r.name, r.scenario) for r in runs if r.scenario is not None and r.scenario.kind]
    return format_scenario_table(rows) if rows else None
