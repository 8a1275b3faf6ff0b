"""CLI: evaluate trained networks on held-out objects (never seen in training).

``python -m fpose_ros.training.evaluate --weights DIR [--n N] [--small] [--seed S]`` where DIR holds
``refiner/`` and/or ``scorer/`` checkpoint directories (as written by :mod:`fpose_ros.training.train`).

Refiner: held-out scenes, true poses perturbed as in training; mean (and median) rotation error (deg) and
translation error (mm) of the input, and after one and two refinement steps, with the reduction each step
brings. Scorer: top-1 accuracy of picking the positive of a group (chance = 1 / group size). Crops are cut at each
checkpoint's own crop size and ratio; ``--small`` draws as ``generate --small`` does (12 pairs per scene, groups of 4).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.nets.checkpoint import load_refine_net, load_score_net
from fpose_ros.core.nets.config import RefineNetConfig, ScoreNetConfig, crop_size
from fpose_ros.core.nets.pose_update import REFINER_MIN_Z_M, apply_pose_update, decode_refiner_output
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.nets.score_net import ScoreNet
from fpose_ros.core.transforms import rotation_angle
from fpose_ros.training.samples import (
    SMALL_CONFIG,
    SampleConfig,
    Scene,
    crop_inputs,
    perturb_poses,
    random_scene,
    scorer_group,
)


@dataclass(frozen=True)
class RefinerEval:
    """Pose errors over the evaluated hypotheses; index 0 = input, 1 and 2 = after that many steps.

    Attributes:
        rot_deg, trans_mm: (3,) mean rotation errors (degrees) and translation errors (millimetres).
        rot_deg_median, trans_mm_median: (3,) their medians.
        n: hypotheses evaluated.
    """

    rot_deg: tuple[float, float, float]
    trans_mm: tuple[float, float, float]
    rot_deg_median: tuple[float, float, float]
    trans_mm_median: tuple[float, float, float]
    n: int

    @staticmethod
    def reductions(errors: tuple[float, float, float]) -> tuple[float, float]:
        """Fraction of the error removed by step 1 (vs. the input) and by step 2 (vs. step 1)."""
        return 1.0 - errors[1] / errors[0], 1.0 - errors[2] / errors[1]


def pose_errors(T: torch.Tensor, T_gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4, 4) poses vs truth -> rotation errors (N,) degrees and translation errors (N,) millimetres."""
    rot = torch.rad2deg(rotation_angle(T[:, :3, :3] @ T_gt[:, :3, :3].transpose(-1, -2)))
    return rot, 1000.0 * (T[:, :3, 3] - T_gt[:, :3, 3]).norm(dim=-1)


def refine_step(net: RefineNet, net_config: RefineNetConfig, scene: Scene, T: torch.Tensor) -> torch.Tensor:
    """One refiner step for (N, 4, 4) hypotheses of one scene -> (N, 4, 4) updated poses."""
    A, B = crop_inputs(scene, T, net_config.crop_ratio, crop_size(net_config), REFINER_MIN_Z_M)
    with torch.inference_mode():
        trans_out, rot_out = net(A, B)
    dt, dR = decode_refiner_output(trans_out, rot_out, scene.model.diameter, net_config.rot_normalizer)
    return apply_pose_update(T, dt, dR)


def evaluate_refiner(net: RefineNet, net_config: RefineNetConfig, n_scenes: int, config: SampleConfig,
                     seed: int) -> RefinerEval:
    """Refine perturbed held-out poses twice; mean errors before and after each step. O(n_scenes) renders.

    The perturbations are those of training (``config``'s rotation and translation normalisers).
    """
    rng = np.random.default_rng(seed)
    errors: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[], [], []]
    net.eval()
    for _ in range(n_scenes):
        scene = random_scene("heldout", rng, config)
        T_gt = scene.T_cam_centered[None].repeat(config.pairs_per_scene, 1, 1)
        T = perturb_poses(T_gt, rng, config)[0]
        for k in range(3):
            errors[k].append(pose_errors(T, T_gt))
            if k < 2:
                T = refine_step(net, net_config, scene, T)
    rot = [torch.cat([e[0] for e in errs]) for errs in errors]
    trans = [torch.cat([e[1] for e in errs]) for errs in errors]
    return RefinerEval(rot_deg=_per_step(rot, torch.mean), trans_mm=_per_step(trans, torch.mean),
                       rot_deg_median=_per_step(rot, torch.median), trans_mm_median=_per_step(trans, torch.median),
                       n=n_scenes * config.pairs_per_scene)


def _per_step(errors: list[torch.Tensor], statistic: Callable[[torch.Tensor], torch.Tensor]
              ) -> tuple[float, float, float]:
    """``statistic`` of the errors at the input and after one and two steps."""
    before, one, two = (float(statistic(e)) for e in errors)
    return before, one, two


def evaluate_scorer(net: ScoreNet, net_config: ScoreNetConfig, n_scenes: int, config: SampleConfig,
                    seed: int) -> float:
    """Top-1 accuracy (fraction of groups whose highest logit is the positive) on held-out scenes."""
    rng = np.random.default_rng(seed)
    config = dataclasses.replace(config, score_crop_ratio=net_config.crop_ratio, crop_size=crop_size(net_config))
    net.eval()
    hits = 0
    for _ in range(n_scenes):
        group = scorer_group(random_scene("heldout", rng, config), rng, config)
        with torch.inference_mode():
            hits += int(net(group.A[0], group.B[0]).argmax() == group.positive[0])
    return hits / n_scenes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--n", type=int, default=8, help="held-out scenes per network")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    config = SMALL_CONFIG if args.small else SampleConfig()
    found = False
    if (args.weights / "refiner").is_dir():
        net, cfg = load_refine_net(args.weights / "refiner")
        result = evaluate_refiner(net, cfg, args.n, config, args.seed)
        print(f"refiner, {result.n} held-out hypotheses (reduction = error removed by that step)")
        print(f"{'':19s}{'input':>10s}{'1 step':>10s}{'2 steps':>10s}{'reduction 1':>13s}{'reduction 2':>13s}")
        for label, errors in (("rot (deg), mean", result.rot_deg), ("trans (mm), mean", result.trans_mm),
                              ("rot (deg), median", result.rot_deg_median),
                              ("trans (mm), median", result.trans_mm_median)):
            print(f"{label:19s}" + "".join(f"{v:10.2f}" for v in errors)
                  + "".join(f"{r:12.0%} " for r in RefinerEval.reductions(errors)))
        found = True
    if (args.weights / "scorer").is_dir():
        net_s, cfg_s = load_score_net(args.weights / "scorer")
        acc = evaluate_scorer(net_s, cfg_s, args.n, config, args.seed)
        print(f"scorer top-1 accuracy on {args.n} held-out groups: {acc:.3f} (chance {1 / config.group_size:.3f})")
        found = True
    if not found:
        print(f"error: no refiner/ or scorer/ checkpoint under {args.weights}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
