"""``fpose-bench``: the benchmark's command line (offline engine, ``--live`` node, ``--live --soak``).

``python -m fpose_ros.bench [--peer open3d] [--json out/bench.json]`` runs the engine (and optionally
the Open3D peer) over the fixed, seeded synthetic sequences and prints a table of registration time
and success, tracking time, rate and accuracy (ADD / ADD-S AUC over 0-10 cm), loss detection and
re-acquisition, and peak memory, with pass/fail against the project's targets
(:mod:`fpose_ros.evaluation.offline` holds the protocol). ``--live`` plays the sequences into a
``fpose_node`` process over DDS instead (:mod:`fpose_ros.evaluation.live_benchmark`), ``--live --soak``
loops one into one node (:mod:`fpose_ros.evaluation.live_soak`); ``--refiner/--scorer learned`` add
the learned-path section (:mod:`fpose_ros.evaluation.learned_path`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.estimator import EstimatorConfig
from fpose_ros.core.synthetic.sequences import SyntheticSequence
from fpose_ros.evaluation.detector_masks import BOX_JITTER, MASK_TIMINGS, MaskTiming
from fpose_ros.evaluation.learned_path import (
    format_learned,
    learned_path_config,
    learned_weights_label,
    run_learned_path,
)
from fpose_ros.evaluation.multi_object_figures import MultiObjectRun
from fpose_ros.evaluation.offline import (
    check_targets,
    engine_factory,
    format_scenario_runs,
    format_table,
    offline_figures,
    peer_factory,
    per_sequence_figures,
    quick_specs,
    registration_stats,
    run_method,
    summarize,
)
from fpose_ros.evaluation.resources import machine
from fpose_ros.evaluation.sequence_registry import BenchmarkSpec, all_benchmark_specs, load_sequence
from fpose_ros.evaluation.statistics import OfflineFigures


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
    # argparse %-formats help strings: the percent sign is doubled.
    parser.add_argument("--boxes", action="store_true",
                        help=f"the detector gives boxes instead of masks: the box around the mask, each edge off by up "
                             f"to {BOX_JITTER:.0%}% of its size; registration from the box and the depth in it")
    parser.add_argument("--registration-only", action="store_true",
                        help="only the registration trials (no tracking run): the registration figures alone")
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
    parser.add_argument("--no-offline", action="store_true",
                        help="--live: skip the offline engine's figures on the same frames (acceptance 3)")
    parser.add_argument("--multi-object", action="store_true",
                        help="--live: the three-object sequence into one multi-object fpose_node, every object scored "
                             "(fpose_ros.evaluation.live_multi_object); masks 'with' their frame unless --timings")
    parser.add_argument("--no-baselines", action="store_true",
                        help="--live --multi-object: skip the runs with each object alone (one node per object, the "
                             "same play) that the per-frame cost ratio of issue 15's acceptance 2 needs")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="--live: loop the first sequence (default proc4_exit_and_return) into one node for this "
                             "long under the first timing (fpose_ros.evaluation.live_soak)")
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    specs = _selected_specs(parser, args)
    if args.live:
        return _live_main(parser, args, specs)

    device = _device(args.device)
    config = EstimatorConfig(device=device)
    box_jitter = BOX_JITTER if args.boxes else None
    detector = f"boxes (edges off by up to {BOX_JITTER:.0%})" if args.boxes else "masks"
    if args.registration_only:
        return _registration_main(args, specs, config, box_jitter, detector)
    ours, our_rss = run_method(specs, args.cache, lambda seq: engine_factory(seq, config), "fpose_ros", box_jitter)
    summary = summarize(ours, our_rss)
    peer_summary = None
    if args.peer:
        theirs, their_rss = run_method(specs, args.cache, peer_factory, args.peer, box_jitter)
        peer_summary = summarize(theirs, their_rss)
    info = {**machine(), "engine_device": device}
    gpu = f", engine on {torch.cuda.get_device_name(torch.device(device))}" if device.startswith("cuda") else ""
    print(f"fpose_ros benchmark: {len(specs)} sequences, detector {detector}, machine: {info['cpu']} "
          f"({info['cores']} cores, torch {info['torch']}, {info['torch_threads']} threads{gpu})")
    print(format_table(summary, peer_summary))
    scenarios = format_scenario_runs(ours)
    if scenarios:
        print(scenarios)
    learned = None
    if "learned" in (args.refiner, args.scorer):
        with tempfile.TemporaryDirectory() as scratch:
            learned_config = learned_path_config(args, Path(scratch), config)
            seq = load_sequence(specs[0], args.cache)
            learned = run_learned_path(seq, learned_config, args.learned_frames, learned_weights_label(args))
        print(format_learned(learned))
    if args.json:
        payload = {**asdict(summary), "targets_met": check_targets(summary), "machine": info, "detector": detector,
                   "sequences": [asdict(s) for s in specs],
                   "per_sequence": [per_sequence_figures(r) for r in ours]}
        if peer_summary:
            payload["peer"] = {"name": args.peer, **asdict(peer_summary),
                               "per_sequence": [per_sequence_figures(r) for r in theirs]}
        if learned is not None:
            payload["learned"] = asdict(learned)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _registration_main(args: argparse.Namespace, specs: Sequence[BenchmarkSpec], config: EstimatorConfig,
                       box_jitter: float | None, detector: str) -> int:
    """``--registration-only``: the registration trials of every sequence, no tracking run."""
    runs, _ = run_method(specs, args.cache, lambda seq: engine_factory(seq, config), "fpose_ros", box_jitter,
                         track=False)
    stats = registration_stats(runs)
    print(f"fpose_ros registration trials: {len(specs)} sequences, detector {detector}, machine: {machine()['cpu']} "
          f"({machine()['cores']} cores)")
    print(f"registration success {stats.success_rate:.1%} of {stats.trials} trials (target >= 95%), "
          f"median {stats.median_s:.3f} s, p90 {stats.p90_s:.3f} s")
    if args.json:
        per_sequence = [{"name": r.name, "registration_success": float(np.mean(r.register_ok)),
                         "registration_median_s": float(np.median(r.register_s))} for r in runs]
        payload = {"registration": asdict(stats), "detector": detector, "machine": machine(),
                   "sequences": [asdict(s) for s in specs], "per_sequence": per_sequence}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Stop with the parser's usage error on arguments that do not fit together."""
    for part in ("refiner", "scorer"):
        weights = getattr(args, f"{part}_weights")
        if getattr(args, part) == "learned" and weights is None and not args.random_weights:
            parser.error(f"--{part} learned needs --{part}-weights DIR (a checkpoint directory: model_best.pth "
                         "+ config.yml) or --random-weights (timings only)")
        if weights is not None and not weights.is_dir():
            parser.error(f"--{part}-weights {weights}: no such directory")
    if args.learned_frames < 1:
        parser.error("--learned-frames must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.no_baselines and not args.multi_object:
        parser.error("--no-baselines needs --live --multi-object")
    for flag in ("soak", "multi_object"):
        if getattr(args, flag) not in (None, False) and not args.live:
            parser.error(f"--{flag.replace('_', '-')} needs --live")
    if args.multi_object and (args.soak is not None or args.sequences or args.quick):
        parser.error("--multi-object plays its own sequence: not with --soak, --sequences or --quick")
    for flag in ("boxes", "registration_only"):
        if getattr(args, flag) and args.live:
            parser.error(f"--{flag.replace('_', '-')} runs the engine in this process: not with --live")


def _selected_specs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[BenchmarkSpec]:
    """The sequences to run: all (or the quick ones), or those named by ``--sequences``."""
    specs: list[BenchmarkSpec] = list(quick_specs()) if args.quick else all_benchmark_specs()
    if args.sequences:
        unknown = set(args.sequences) - {s.name for s in specs}
        if unknown:
            parser.error(f"unknown sequences {sorted(unknown)}; known: {[s.name for s in specs]}")
        specs = [s for s in specs if s.name in args.sequences]
    return specs


def _device(name: str) -> str:
    """``--device``: "auto" is CUDA when torch sees a GPU, else the CPU."""
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _live_main(parser: argparse.ArgumentParser, args: argparse.Namespace, specs: Sequence[BenchmarkSpec]) -> int:
    """``--live``: every sequence under every chosen mask timing into a fpose_node process."""
    from fpose_ros.evaluation.live_benchmark import run_live_benchmark  # imports rclpy
    from fpose_ros.evaluation.live_figures import format_live_table
    from fpose_ros.evaluation.tables import format_scenario_table

    timings = list(MASK_TIMINGS)
    if args.timings:
        unknown = set(args.timings) - {t.name for t in timings}
        if unknown:
            parser.error(f"unknown timings {sorted(unknown)}; known: {[t.name for t in timings]}")
        timings = [t for t in timings if t.name in args.timings]
    if args.soak is not None:
        return _soak_main(args, specs, timings[0])
    if args.multi_object:
        return _multi_object_main(args, timings if args.timings else [t for t in timings if t.name == "with"])
    offline = None
    if not args.no_offline:
        config = EstimatorConfig(device=_device(args.device))

        def offline(seq: SyntheticSequence, every: int) -> OfflineFigures:
            return offline_figures(seq, engine_factory(seq, config), every)
    runs = []
    for spec in specs:
        seq = load_sequence(spec, args.cache)
        print(f"[bench --live] {spec.name}: {len(seq.frames)} frames, timings {[t.name for t in timings]}",
              file=sys.stderr)
        runs += run_live_benchmark([seq], timings, offline=offline)
        del seq
    info = machine()
    print(f"fpose_ros live benchmark: {len(specs)} sequences x {len(timings)} mask timings, fpose_node over DDS, "
          f"machine: {info['cpu']} ({info['cores']} cores)")
    print(format_live_table(runs))
    scenarios = [(f"{r.sequence} / {r.timing}", r.scenario) for r in runs if r.scenario is not None and r.scenario.kind]
    if scenarios:
        print(format_scenario_table(scenarios))
    if args.json:
        payload = {"machine": info, "timings": [asdict(t) for t in timings], "sequences": [asdict(s) for s in specs],
                   "runs": [_finite_or_none({**asdict(r), **r.figures()}) for r in runs]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _multi_object_main(args: argparse.Namespace, timings: Sequence[MaskTiming]) -> int:
    """``--live --multi-object``: the three-object sequence into one multi-object node per timing."""
    from fpose_ros.evaluation.live_multi_object import run_live_multi_object  # imports rclpy
    from fpose_ros.evaluation.multi_object_figures import cost_ratios, format_cost_table, format_multi_object_table
    from fpose_ros.evaluation.multi_object_scene import load_or_render_multi_object, multi_object_benchmark

    bench = multi_object_benchmark()
    seq = load_or_render_multi_object(bench, args.cache)
    print(f"[bench --live --multi-object] {bench.name}: {len(seq.frames)} frames, objects {list(bench.names)}, "
          f"timings {[t.name for t in timings]}", file=sys.stderr)
    runs, alone = [], []
    with tempfile.TemporaryDirectory(prefix="fpose_multi_") as scratch:
        for t in timings:
            runs.append(run_live_multi_object(bench, seq, t, Path(scratch) / t.name))
            if not args.no_baselines:  # the same play into a node with each object alone: acceptance 2's baseline
                alone.append([run_live_multi_object(bench, seq, t, Path(scratch) / f"{t.name}-{name}", objects=[name])
                              for name in bench.names])
    costs = [c for run, one in zip(runs, alone, strict=True) for c in cost_ratios(run, one)] if alone else []
    info = machine()
    print(f"fpose_ros multi-object live benchmark: {bench.name} ({len(bench.names)} objects) x {len(timings)} mask "
          f"timings, one fpose_node over DDS, machine: {info['cpu']} ({info['cores']} cores)")
    print(format_multi_object_table(runs))
    if costs:
        print(f"per-frame cost, {len(bench.names)} objects against each alone (issue 15 acceptance 2, CPU ratio "
              f"<= 2.2):")
        print(format_cost_table(costs))
    if args.json:
        payload = {"machine": info, "sequence": bench.name, "objects": list(bench.names),
                   "scene": asdict(bench.spec), "timings": [asdict(t) for t in timings],
                   "runs": [_multi_object_run_json(r) for r in runs],
                   "alone_runs": [_multi_object_run_json(r) for one in alone for r in one],
                   "cost": [_finite_or_none({**asdict(c), "mean_alone": c.mean_alone, "ratio": c.ratio,
                                             "passed": c.passed}) for c in costs]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _multi_object_run_json(run: MultiObjectRun) -> dict[str, object]:
    """One multi-object run as JSON: its figures, ``passed`` and every object's figures."""
    return {**_finite_or_none({k: v for k, v in asdict(run).items() if k != "objects"}), "passed": run.passed,
            "objects": [_finite_or_none(asdict(o)) for o in run.objects]}


def _soak_main(args: argparse.Namespace, specs: Sequence[BenchmarkSpec], timing: MaskTiming) -> int:
    """``--live --soak SECONDS``: one sequence looped into one node."""
    from fpose_ros.evaluation.live_soak import format_soak_table, run_soak  # imports rclpy

    if not args.sequences:
        specs = [s for s in specs if s.exit_and_return] or list(specs)
    seq = load_sequence(specs[0], args.cache)
    print(f"[bench --live --soak] {specs[0].name} looped for {args.soak:.0f} s, masks {timing.name}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="fpose_soak_") as scratch:
        result = run_soak(seq, timing, args.soak, Path(scratch))
    print(f"fpose_ros live soak, machine: {machine()['cpu']} ({os.cpu_count()} cores)")
    print(format_soak_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        steady, catch_up = result.minute_changes()
        figures = _finite_or_none({**asdict(result), "latency_change": result.latency_change,
                                   "steady_latency_change": steady, "catch_up_latency_change": catch_up})
        figures["minutes"] = [_finite_or_none(m) for m in figures["minutes"]]  # type: ignore[attr-defined]
        args.json.write_text(json.dumps({"machine": machine(), **figures}, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def _finite_or_none(figures: dict[str, object]) -> dict[str, object]:
    """NaN / inf as None, so that the JSON is standard."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in figures.items()}


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
