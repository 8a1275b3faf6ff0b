"""Which appearance measure tells apart the poses a shape cannot: measured on the ``indep_*`` sequences.

``python -m fpose_ros.evaluation.appearance_comparison [--every 5] [--figure docs/figures/x.png]``

For every ``every``-th frame where the object shows, the true pose (perturbed by a few mm and deg,
as a refined pose is) and the poses the shape cannot tell from it are rendered by the engine's
renderer (so with the engine's colour model, not the one that drew the frame): turns about the axis
of revolution every 5 deg for a can or bottle, and each upside down; the three half turns about the
box's axes for a box. Each measure of :mod:`fpose_ros.core.appearance` ranks
them on the frame. Printed per sequence and measure: how often the true pose (within 7.5 deg) ranks
first, the median angle of the first-ranked one from the truth, and the margin by which the right
turn beats the best wrong one.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fpose_ros.core.appearance import APPEARANCE_METHODS
from fpose_ros.core.estimator import PoseEstimator, build_estimator
from fpose_ros.core.observation import observation_from_frame
from fpose_ros.core.scoring.geometric import GeometricScorer
from fpose_ros.core.transforms import make_transform, so3_exp
from fpose_ros.evaluation.independent_scenes import independent_specs, load_or_render_independent

#: A turn within this of the truth ranks as right, degrees (half the scan's step, plus half again).
RIGHT_DEG = 7.5
SCAN_STEP_DEG = 5.0


def candidate_turns(engine: PoseEstimator) -> tuple[torch.Tensor, np.ndarray]:
    """Turns of the centred frame the shape cannot see: (K, 4, 4) float32 and how far each is from none (K,), deg.

    About the engine's axis of revolution every :data:`SCAN_STEP_DEG`, and the same upside down (180
    deg off), or (none: a box) the identity and the half turns about the centred frame's x, y, z.
    """
    if engine.spin_axis is not None:
        angles = np.arange(0.0, 360.0, SCAN_STEP_DEG)
        turns = engine.turns(torch.as_tensor(angles))
        off = np.minimum(angles, 360.0 - angles)
        return torch.cat([turns, engine.upside_down() @ turns]), np.concatenate([off, np.full_like(off, 180.0)])
    rotvec = torch.tensor([[0.0, 0.0, 0.0], [np.pi, 0, 0], [0, np.pi, 0], [0, 0, np.pi]], dtype=torch.float32)
    return make_transform(so3_exp(rotvec), torch.zeros(4, 3)), np.array([0.0, 180.0, 180.0, 180.0])


def compare(every: int, cache: Path, names: list[str] | None = None, noise_m: float = 0.003,
            noise_deg: float = 3.0) -> dict[str, dict[str, dict[str, float]]]:
    """Rank the turns on the frames of the ``indep_*`` sequences (``names``, default all) with each measure.

    Every true pose is first perturbed (seeded) by ``noise_m`` per axis and ``noise_deg`` about a random
    axis, as a refined pose is off the truth.

    Returns:
        Per sequence and measure: ``right`` (fraction of frames where a turn within :data:`RIGHT_DEG`
        ranks first), ``median_err_deg`` (of the first-ranked turn), ``margin`` (median agreement of the
        best right turn minus that of the best turn over 30 deg off), ``frames``.
    """
    rng = np.random.default_rng(0)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for spec in independent_specs():
        if names and spec.name not in names:
            continue
        seq = load_or_render_independent(spec, cache)
        engine = build_estimator(seq.model)
        turns, wrapped = candidate_turns(engine)
        scorers = {m: GeometricScorer(engine.renderer, dataclasses.replace(engine.trust_scorer.config, appearance=m))
                   for m in APPEARANCE_METHODS}
        errors: dict[str, list[float]] = {m: [] for m in APPEARANCE_METHODS}
        margins: dict[str, list[float]] = {m: [] for m in APPEARANCE_METHODS}
        for i in np.flatnonzero(seq.visible)[::every]:
            obs = observation_from_frame(seq.frames[i], None, clean=False)
            T = perturbed(seq.T_cam_centered_gt[i], noise_m, noise_deg, rng) @ turns
            with torch.inference_mode():
                surface = engine.trust_scorer.render_surface(engine.render_model, obs, T)
                for method, scorer in scorers.items():
                    agreement = scorer.score_surface(surface, obs, T).appearance.numpy()
                    errors[method].append(float(wrapped[int(np.argmax(agreement))]))
                    margins[method].append(float(agreement[wrapped <= RIGHT_DEG].max()
                                                 - agreement[wrapped > 30.0].max()))
        results[spec.name] = {m: {"right": float(np.mean(np.array(e) <= RIGHT_DEG)),
                                  "median_err_deg": float(np.median(e)), "margin": float(np.median(margins[m])),
                                  "frames": float(len(e))}
                              for m, e in errors.items()}
    return results


def perturbed(T: np.ndarray, noise_m: float, noise_deg: float, rng: np.random.Generator) -> torch.Tensor:
    """(1, 4, 4) float32: ``T`` (4, 4) moved by N(0, ``noise_m``) per axis, turned ``noise_deg`` about a random axis."""
    axis = rng.normal(size=3)
    out = np.array(T, dtype=np.float64)
    out[:3, :3] = Rotation.from_rotvec(np.radians(noise_deg) * axis / np.linalg.norm(axis)).as_matrix() @ out[:3, :3]
    out[:3, 3] += rng.normal(scale=noise_m, size=3)
    return torch.as_tensor(out, dtype=torch.float32)[None]


def plot(results: dict[str, dict[str, dict[str, float]]], path: Path, label: str) -> None:
    """Bars: fraction of frames where each measure ranks the true pose first, per sequence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(APPEARANCE_METHODS)
    for k, method in enumerate(APPEARANCE_METHODS):
        ax.bar(np.arange(len(names)) + k * width, [results[n][method]["right"] for n in names], width, label=method)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, [n.removeprefix("indep_") for n in names])
    ax.set_ylabel("true pose ranked first")
    ax.set_ylim(0, 1.05)
    ax.set_title(label, fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """The command line; prints one row per sequence and measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=5, help="use every n-th frame where the object shows")
    parser.add_argument("--cache", type=Path, default=Path("out/cache"))
    parser.add_argument("--figure", type=Path, help="write the bar chart here (PNG)")
    parser.add_argument("--noise-mm", type=float, default=3.0, help="translation noise of the compared poses, mm")
    parser.add_argument("--noise-deg", type=float, default=3.0, help="rotation noise of the compared poses, deg")
    parser.add_argument("--sequences", nargs="+", metavar="NAME", help="only these indep_* sequences")
    parser.add_argument("--label", default="", help="figure title (machine, command)")
    args = parser.parse_args(argv)
    results = compare(args.every, args.cache, args.sequences, args.noise_mm / 1000, args.noise_deg)
    print(f"{'sequence':30s} {'measure':9s} {'right':>6s} {'median err':>10s} {'margin':>7s} {'frames':>6s}")
    for name, by_method in results.items():
        for method, r in by_method.items():
            print(f"{name:30s} {method:9s} {r['right']:6.2f} {r['median_err_deg']:6.1f} deg {r['margin']:7.2f} "
                  f"{int(r['frames']):6d}")
    if args.figure:
        plot(results, args.figure, args.label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
