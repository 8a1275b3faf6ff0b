"""Benchmark: the engine (and optionally the Open3D peer) on the fixed, seeded synthetic sequences.

``python -m fpose_ros.bench [--peer open3d] [--json out/bench.json]`` prints a table of
registration time and success, tracking time, rate and accuracy (ADD / ADD-S AUC over 0-10 cm),
loss detection and re-acquisition, and peak memory, with pass/fail against the project's targets.

Protocol, per sequence (30 Hz, 640x480):

* the tracker (:class:`~fpose_ros.core.tracking_state.ObjectTracker`) runs over every frame, given
  the detector mask as a live detector gives it (:mod:`fpose_ros.evaluation.detector_masks`: every
  3rd visible frame, only while the mask covers >= 200 pixels); frames where the object is visible
  count for accuracy, a frame without a pose counting as an infinite error;
* registration trials: a fresh ``register`` on 4 frames spread over the frames with a detector
  mask, the first one included; success means ADD-S below 10% of the object's diameter;
* sequences where the object leaves the view: frames from leaving until the tracker reports LOST
  (``loss.detect_frames``), and seconds from its return until a pose again, counting the frame
  period and the processing time of the frame that re-registers (``loss.reacquire_s``).

Each method runs over all sequences in turn, one sequence in memory at a time; its peak RSS is the
process's high-water mark while it ran (reset between methods where Linux allows it).

With ``--refiner learned`` / ``--scorer learned`` (weights from ``--refiner-weights`` /
``--scorer-weights``, or ``--random-weights``: networks of the official configuration with random
weights, for timings only), a short learned-path section follows the table: one registration and
``--learned-frames`` tracked frames on the first sequence, the learned refiner/scorer behind the same
engine. It is slow on a CPU (the networks see 160 x 160 crops), hence one sequence only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.estimator import EstimatorConfig, PoseEstimator
from fpose_ros.core.metrics import add_error, adds_error, auc
from fpose_ros.core.pose_result import TrackingMode
from fpose_ros.core.synthetic.sequences import SequenceSpec, SyntheticSequence, benchmark_specs, load_or_render
from fpose_ros.core.tracking_state import Estimator, LossCriteria, ObjectTracker
from fpose_ros.evaluation.detector_masks import MASK_TIMINGS, MaskTiming, detector_masks

#: The issue's targets: (key, comparison, threshold).
TARGETS = (
    ("registration.median_s", "<=", 1.0),
    ("registration.success_rate", ">=", 0.95),
    ("tracking.median_ms", "<=", 15.0),
    ("tracking.adds_auc", ">=", 0.95),
    ("tracking.add_auc", ">=", 0.90),
    ("loss.detect_frames", "<=", 3),
    ("loss.reacquire_s", "<=", 0.5),
)
REGISTRATION_TRIALS_PER_SEQUENCE = 4


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


def run_sequence(seq: SyntheticSequence, make_estimator: Callable[[], Estimator]) -> SequenceRun:
    """Run one method over one sequence (see the module docstring for the protocol)."""
    run = SequenceRun(seq.spec.name)
    points = seq.model.surface_points
    T_gt = seq.T_cam_centered_gt
    diameter = seq.model.diameter

    masks = detector_masks(seq.masks, seq.visible)
    mask_idx = np.flatnonzero([m is not None for m in masks])
    trial_frames = mask_idx[np.linspace(0, len(mask_idx) - 1, REGISTRATION_TRIALS_PER_SEQUENCE).astype(int)]
    for i in trial_frames:
        result = make_estimator().register(seq.frames[i], masks[i])
        run.register_s.append(result.timings.total_ms / 1000.0)
        run.register_ok.append(result.T_cam_centered is not None
                               and adds_error(points, result.T_cam_centered, T_gt[i]) < 0.1 * diameter)

    tracker = ObjectTracker(make_estimator(), LossCriteria())
    left = returned = None
    period = 1.0 / seq.spec.fps
    for i, frame in enumerate(seq.frames):
        result = tracker.process(frame, masks[i])
        if result.n_hypotheses == 1 and result.mode is TrackingMode.TRACKING:
            run.track_ms.append(result.timings.total_ms)
        if seq.visible[i]:
            pose = result.T_cam_centered
            run.add_m.append(add_error(points, pose, T_gt[i]) if pose is not None else np.inf)
            run.adds_m.append(adds_error(points, pose, T_gt[i]) if pose is not None else np.inf)
        else:
            run.poses_while_away += int(result.has_pose)
            if left is None:
                left = i
            if run.detect_frames is None and result.mode is TrackingMode.LOST:
                run.detect_frames = i - left + 1
        if left is not None and seq.visible[i] and returned is None and i > left:
            returned = i
        if returned is not None and run.reacquire_s is None and result.has_pose:
            run.reacquire_s = (i - returned) * period + result.timings.total_ms / 1000.0
    return run


def summarize(runs: Sequence[SequenceRun], peak_rss_mb: float | None = None) -> Summary:
    """Pool the runs into the published figures; ``peak_rss_mb`` defaults to the process's peak so far."""
    reg = np.concatenate([r.register_s for r in runs])
    ok = np.concatenate([r.register_ok for r in runs])
    track = np.concatenate([r.track_ms for r in runs]) if any(r.track_ms for r in runs) else np.array([np.nan])
    add = np.concatenate([r.add_m for r in runs])
    adds = np.concatenate([r.adds_m for r in runs])
    detect = [r.detect_frames for r in runs if r.detect_frames is not None]
    reacq = [r.reacquire_s for r in runs if r.reacquire_s is not None]
    missing_reacq = any(r.detect_frames is not None and r.reacquire_s is None for r in runs)
    median_track = float(np.median(track))
    return Summary(
        registration=RegistrationStats(median_s=float(np.median(reg)), p90_s=float(np.percentile(reg, 90)),
                                       success_rate=float(ok.mean()), trials=int(len(ok))),
        tracking=TrackingStats(median_ms=median_track, p90_ms=float(np.percentile(track, 90)),
                               rate_hz=1000.0 / median_track if median_track > 0 else float("nan"),
                               add_auc=auc(add), adds_auc=auc(adds), frames=int(len(add))),
        loss=LossStats(detect_frames=max(detect) if detect else None,
                       reacquire_s=None if missing_reacq or not reacq else max(reacq),
                       poses_while_away=int(sum(r.poses_while_away for r in runs))),
        peak_rss_mb=peak_rss_mb if peak_rss_mb is not None else _peak_rss_mb(),
    )


def check_targets(summary: Summary) -> dict[str, bool]:
    """Whether each target of the issue is met (a missing figure fails)."""
    flat = _flatten(asdict(summary))
    out = {}
    for key, op, threshold in TARGETS:
        value = flat.get(key)
        out[key] = value is not None and bool(value <= threshold if op == "<=" else value >= threshold)
    return out


def format_table(ours: Summary, peer: Summary | None = None, peer_name: str = "open3d") -> str:
    """The printed comparison table: one row per figure, the target and whether fpose_ros meets it."""
    rows = [
        ("registration median (s)", "registration.median_s", "{:.3f}"),
        ("registration p90 (s)", "registration.p90_s", "{:.3f}"),
        ("registration success", "registration.success_rate", "{:.1%}"),
        ("tracking median (ms)", "tracking.median_ms", "{:.1f}"),
        ("tracking p90 (ms)", "tracking.p90_ms", "{:.1f}"),
        ("tracking rate (Hz)", "tracking.rate_hz", "{:.0f}"),
        ("ADD AUC (0-10 cm)", "tracking.add_auc", "{:.3f}"),
        ("ADD-S AUC (0-10 cm)", "tracking.adds_auc", "{:.3f}"),
        ("loss detected after (frames)", "loss.detect_frames", "{}"),
        ("re-acquired after (s)", "loss.reacquire_s", "{:.3f}"),
        ("poses while away", "loss.poses_while_away", "{}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ]
    targets = {key: f"{op} {thr}" for key, op, thr in TARGETS}
    met = check_targets(ours)
    a, b = _flatten(asdict(ours)), _flatten(asdict(peer)) if peer else {}
    header = ["metric", "fpose_ros", *([peer_name] if peer else []), "target", "met"]
    lines = []
    for label, key, fmt in rows:
        cells = [label, _fmt(a.get(key), fmt)]
        if peer:
            cells.append(_fmt(b.get(key), fmt))
        cells += [targets.get(key, ""), ("yes" if met[key] else "NO") if key in met else ""]
        lines.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    fmt_row = " | ".join("{:<" + str(w) + "}" for w in widths)
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt_row.format(*header), sep, *(fmt_row.format(*r) for r in lines)])


def _fmt(value: object, fmt: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not np.isfinite(value):
        return "inf" if value > 0 else "nan"
    return fmt.format(value)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _reset_peak_rss() -> None:
    """Reset the process's RSS high-water mark (Linux >= 4.0); elsewhere the peak stays cumulative."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """The RSS high-water mark since the last reset (VmHWM), else ``getrusage``'s lifetime maxrss, MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, object]:
    """What the figures were measured on: CPU model, cores, torch threads and versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def quick_specs() -> list[SequenceSpec]:
    """Two short sequences of the benchmark set (a moving object; the exit-and-return one), for tests."""
    specs = benchmark_specs()
    exit_spec = next(s for s in specs if s.exit_and_return)
    moving = next(s for s in specs if not s.exit_and_return and s.motion != "static")
    return [dataclasses.replace(moving, n_frames=20), dataclasses.replace(exit_spec, n_frames=75)]


def run_method(specs: Sequence[SequenceSpec], cache: Path | None,
               factory: Callable[[SyntheticSequence], Callable[[], Estimator]], label: str
               ) -> tuple[list[SequenceRun], float]:
    """Run one method over every sequence, one in memory at a time; returns the runs and the peak RSS (MB)."""
    _reset_peak_rss()
    runs = []
    for spec in specs:
        t0 = time.perf_counter()
        seq = load_or_render(spec, cache)
        print(f"[bench] {label} / {spec.name}: {len(seq.frames)} frames "
              f"({time.perf_counter() - t0:.1f} s to load/render)", file=sys.stderr)
        runs.append(run_sequence(seq, factory(seq)))
        del seq
    return runs, _peak_rss_mb()


def main(argv: Sequence[str] | None = None) -> int:
    """The ``fpose-bench`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="fpose-bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=["open3d"], help="also run this peer on the same frames")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--sequences", nargs="+", metavar="NAME", help="only these sequence names")
    parser.add_argument("--quick", action="store_true", help="2 short sequences (for tests)")
    parser.add_argument("--cache", type=Path, default=Path("out/cache"), help="rendered-sequence cache directory")
    parser.add_argument("--device", default="auto",
                        help="torch device of the engine: cpu, cuda, cuda:1, or auto (cuda when available)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--refiner", choices=["geometric", "learned"], default="geometric")
    parser.add_argument("--scorer", choices=["geometric", "learned"], default="geometric")
    parser.add_argument("--refiner-weights", type=Path, help="RefineNet checkpoint directory (--refiner learned)")
    parser.add_argument("--scorer-weights", type=Path, help="ScoreNet checkpoint directory (--scorer learned)")
    parser.add_argument("--random-weights", action="store_true",
                        help="learned networks without weights of their own: official configuration, random weights "
                             "(timings only)")
    parser.add_argument("--learned-frames", type=int, default=15, help="tracked frames of the learned-path section")
    parser.add_argument("--live", action="store_true",
                        help="play the sequences into a fpose_node process over DDS in real time "
                             "(fpose_ros.evaluation.live_benchmark) instead of running the engine in this process")
    parser.add_argument("--timings", nargs="+", metavar="NAME",
                        help="--live: only these mask timings (default: all of "
                             f"{', '.join(t.name for t in MASK_TIMINGS)})")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="--live: loop the first sequence (default proc4_exit_and_return) into one node for this "
                             "long under the first timing (fpose_ros.evaluation.live_soak)")
    args = parser.parse_args(argv)
    for part in ("refiner", "scorer"):
        weights = getattr(args, f"{part}_weights")
        if getattr(args, part) == "learned" and weights is None and not args.random_weights:
            parser.error(f"--{part} learned needs --{part}-weights DIR (a checkpoint directory: model_best.pth "
                         "+ config.yml) or --random-weights (timings only)")
        if weights is not None and not weights.is_dir():
            parser.error(f"--{part}-weights {weights}: no such directory")
    if args.learned_frames < 1:
        parser.error("--learned-frames must be >= 1")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)

    specs = quick_specs() if args.quick else benchmark_specs()
    if args.sequences:
        unknown = set(args.sequences) - {s.name for s in specs}
        if unknown:
            parser.error(f"unknown sequences {sorted(unknown)}; known: {[s.name for s in specs]}")
        specs = [s for s in specs if s.name in args.sequences]
    if args.soak is not None and not args.live:
        parser.error("--soak needs --live")
    if args.live:
        return _live_main(parser, args, specs)

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    config = EstimatorConfig(device=device)
    ours, our_rss = run_method(specs, args.cache, lambda seq: _engine_factory(seq, config), "fpose_ros")
    summary = summarize(ours, our_rss)
    peer_summary = None
    if args.peer:
        theirs, their_rss = run_method(specs, args.cache, _peer_factory, args.peer)
        peer_summary = summarize(theirs, their_rss)
    info = {**machine(), "engine_device": device}
    gpu = f", engine on {torch.cuda.get_device_name(torch.device(device))}" if device.startswith("cuda") else ""
    print(f"fpose_ros benchmark: {len(specs)} sequences, machine: {info['cpu']} ({info['cores']} cores, "
          f"torch {info['torch']}, {info['torch_threads']} threads{gpu})")
    print(format_table(summary, peer_summary))
    learned = None
    if "learned" in (args.refiner, args.scorer):
        with tempfile.TemporaryDirectory() as scratch:
            learned_config = learned_path_config(args, Path(scratch), config)
            seq = load_or_render(specs[0], args.cache)
            learned = run_learned_path(seq, learned_config, args.learned_frames, learned_weights_label(args))
        print(format_learned(learned))
    if args.json:
        payload = {**asdict(summary), "targets_met": check_targets(summary), "machine": info,
                   "sequences": [asdict(s) for s in specs],
                   "per_sequence": [_per_sequence(r) for r in ours]}
        if peer_summary:
            payload["peer"] = {"name": args.peer, **asdict(peer_summary),
                               "per_sequence": [_per_sequence(r) for r in theirs]}
        if learned is not None:
            payload["learned"] = asdict(learned)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _live_main(parser: argparse.ArgumentParser, args: argparse.Namespace, specs: Sequence[SequenceSpec]) -> int:
    """``--live``: every sequence under every chosen mask timing into a fpose_node process."""
    from fpose_ros.evaluation.live_benchmark import format_live_table, run_live_benchmark  # imports rclpy

    timings = list(MASK_TIMINGS)
    if args.timings:
        unknown = set(args.timings) - {t.name for t in timings}
        if unknown:
            parser.error(f"unknown timings {sorted(unknown)}; known: {[t.name for t in timings]}")
        timings = [t for t in timings if t.name in args.timings]
    if args.soak is not None:
        return _soak_main(args, specs, timings[0])
    runs = []
    for spec in specs:
        seq = load_or_render(spec, args.cache)
        print(f"[bench --live] {spec.name}: {len(seq.frames)} frames, timings {[t.name for t in timings]}",
              file=sys.stderr)
        runs += run_live_benchmark([seq], timings)
        del seq
    info = machine()
    print(f"fpose_ros live benchmark: {len(specs)} sequences x {len(timings)} mask timings, fpose_node over DDS, "
          f"machine: {info['cpu']} ({info['cores']} cores)")
    print(format_live_table(runs))
    if args.json:
        payload = {"machine": info, "timings": [asdict(t) for t in timings], "sequences": [asdict(s) for s in specs],
                   "runs": [_finite_or_none(asdict(r)) for r in runs]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _soak_main(args: argparse.Namespace, specs: Sequence[SequenceSpec], timing: MaskTiming) -> int:
    """``--live --soak SECONDS``: one sequence looped into one node."""
    from fpose_ros.evaluation.live_soak import format_soak_table, run_soak  # imports rclpy

    if not args.sequences:
        specs = [s for s in specs if s.exit_and_return] or list(specs)
    seq = load_or_render(specs[0], args.cache)
    print(f"[bench --live --soak] {specs[0].name} looped for {args.soak:.0f} s, masks {timing.name}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="fpose_soak_") as scratch:
        result = run_soak(seq, timing, args.soak, Path(scratch))
    print(f"fpose_ros live soak, machine: {machine()['cpu']} ({os.cpu_count()} cores)")
    print(format_soak_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), **_finite_or_none(asdict(result))}, indent=2,
                                        default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _finite_or_none(figures: dict[str, object]) -> dict[str, object]:
    """NaN / inf as None, so that the JSON is standard."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in figures.items()}


@dataclass
class LearnedPathRun:
    """The learned-path section: one registration and a few tracked frames on one sequence.

    Attributes:
        sequence: sequence name.
        refiner, scorer: "learned" or "geometric".
        weights: where each network's weights came from (a checkpoint directory or "random").
        registration_s: wall time of the registration, seconds.
        registration_ok: it returned a pose with ADD-S below 10% of the diameter.
        track_ms: wall time of each tracked frame, milliseconds.
        track_adds_m: ADD-S of each tracked pose, metres (inf without a pose).
        tracked_from_ground_truth: tracking started from the ground-truth pose because the registration
            gave none (so that tracking is timed all the same).
    """

    sequence: str
    refiner: str
    scorer: str
    weights: str
    registration_s: float
    registration_ok: bool
    track_ms: list[float]
    track_adds_m: list[float]
    tracked_from_ground_truth: bool


def learned_path_config(args: argparse.Namespace, scratch: Path, base: EstimatorConfig) -> EstimatorConfig:
    """The engine configuration of the learned-path section; random-weight checkpoints go to ``scratch``."""
    from fpose_ros.core.nets import RefineNet, RefineNetConfig, ScoreNet, ScoreNetConfig, save_checkpoint

    dirs = {"refiner": args.refiner_weights, "scorer": args.scorer_weights}
    if args.random_weights:
        torch.manual_seed(0)
        if args.refiner == "learned" and dirs["refiner"] is None:
            dirs["refiner"] = save_checkpoint(RefineNet(), RefineNetConfig(), scratch / "refiner")
        if args.scorer == "learned" and dirs["scorer"] is None:
            dirs["scorer"] = save_checkpoint(ScoreNet(), ScoreNetConfig(), scratch / "scorer")
    return dataclasses.replace(base, refiner=args.refiner, scorer=args.scorer,
                               refiner_weights_dir=str(dirs["refiner"] or ""),
                               scorer_weights_dir=str(dirs["scorer"] or ""))


def learned_weights_label(args: argparse.Namespace) -> str:
    """Where each learned network's weights come from, e.g. ``refiner random, scorer out/weights/score``."""
    return ", ".join(f"{part} {getattr(args, f'{part}_weights') or 'random'}"
                     for part in ("refiner", "scorer") if getattr(args, part) == "learned")


def run_learned_path(seq: SyntheticSequence, config: EstimatorConfig, n_frames: int, weights: str) -> LearnedPathRun:
    """Register once on the first visible frame, then track the next ``n_frames`` frames (see the class).

    No warm-up: it would cost a registration, and first-call overheads are small against the networks'.
    """
    estimator = PoseEstimator(seq.model, config)
    points, diameter = seq.model.surface_points, seq.model.diameter
    first = int(np.flatnonzero(seq.visible)[0])
    registered = estimator.register(seq.frames[first], seq.masks[first])
    ok = registered.T_cam_centered is not None and bool(
        adds_error(points, registered.T_cam_centered, seq.T_cam_centered_gt[first]) < 0.1 * diameter)
    previous = registered
    from_gt = registered.T_cam_centered is None
    if from_gt:
        previous = dataclasses.replace(registered, T_cam_centered=seq.T_cam_centered_gt[first])
    track_ms, adds = [], []
    for i in range(first + 1, min(first + 1 + n_frames, len(seq.frames))):
        result = estimator.track(seq.frames[i], previous)
        track_ms.append(result.timings.total_ms)
        adds.append(adds_error(points, result.T_cam_centered, seq.T_cam_centered_gt[i])
                    if result.T_cam_centered is not None else float("inf"))
        previous = result if result.T_cam_centered is not None else previous
    return LearnedPathRun(seq.spec.name, config.refiner, config.scorer, weights,
                          registered.timings.total_ms / 1000.0, ok, track_ms, adds, from_gt)


def format_learned(run: LearnedPathRun) -> str:
    """The learned-path section as printed under the main table."""
    track = np.array(run.track_ms)
    lines = [
        f"learned path: refiner {run.refiner}, scorer {run.scorer}; weights: {run.weights}"
        + (" (random weights: timings only, the poses mean nothing)" if "random" in run.weights else "")
        + f"; sequence {run.sequence}",
        f"  registration (s)      {run.registration_s:.2f}   "
        f"(ADD-S < 10% of diameter: {'yes' if run.registration_ok else 'no'})",
        f"  tracking median (ms)  {np.median(track):.1f}   p90 {np.percentile(track, 90):.1f}   "
        f"rate {1000.0 / np.median(track):.1f} Hz over {len(track)} frames"
        + (" (started from the ground truth: the registration gave no pose)" if run.tracked_from_ground_truth else ""),
    ]
    return "\n".join(lines)


def _engine_factory(seq: SyntheticSequence, config: EstimatorConfig) -> Callable[[], Estimator]:
    # One set-up per object: its only state between calls, the tracking keyframe, holds for any pose of it.
    shared = PoseEstimator(seq.model, config)
    # As the node does at start-up: torch's first calls (allocation, kernel choice) are not the object's cost.
    shared.warm_up(seq.camera)
    return lambda: shared


def _peer_factory(seq: SyntheticSequence) -> Callable[[], Estimator]:
    from fpose_ros.core.peers.open3d_peer import Open3DPeer

    shared = Open3DPeer(seq.model)
    return lambda: shared


def _per_sequence(run: SequenceRun) -> dict[str, object]:
    finite = [e for e in run.adds_m if np.isfinite(e)]
    return {"name": run.name, "tracking_median_ms": float(np.median(run.track_ms)) if run.track_ms else None,
            "registration_median_s": float(np.median(run.register_s)),
            "registration_success": float(np.mean(run.register_ok)), "add_auc": auc(np.array(run.add_m)),
            "adds_auc": auc(np.array(run.adds_m)), "frames_with_pose": len(finite),
            "detect_frames": run.detect_frames, "reacquire_s": run.reacquire_s}


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
