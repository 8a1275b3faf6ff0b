"""The benchmark's learned-path section: FoundationPose's networks behind the same engine, timed.

With ``--refiner learned`` / ``--scorer learned`` (weights from ``--refiner-weights`` /
``--scorer-weights``, or ``--random-weights``: networks of the official configuration with random
weights, for timings only), a short section follows the table: one registration and
``--learned-frames`` tracked frames on the first sequence. It is slow on a CPU (the networks see
160 x 160 crops), hence one sequence only.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.metrics import adds_error
from fpose_ros.core.synthetic.sequences import SyntheticSequence


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
    estimator = build_estimator(seq.model, config)
    points, diameter = seq.model.surface_points, seq.model.diameter
    first = int(np.flatnonzero(seq.visible)[0])
    mask = seq.masks[first]
    assert mask is not None  # a visible frame has its detector mask
    registered = estimator.register(seq.frames[first], mask)
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
