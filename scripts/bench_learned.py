"""Speed of the learned path: one refine iteration on N crops, one score pass on N crops (random weights).

Prints a table of median / p90 wall time and the process's peak RSS. Renders, crops and network all count.
Usage: ``python scripts/bench_learned.py --refine-n 1 252 --score-n 252 --repeats 3 [--device cuda]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from fpose_ros.core.backprojection import backproject_depth
from fpose_ros.core.nets import RefineNet, ScoreNet
from fpose_ros.core.observation import Observation
from fpose_ros.core.refinement.learned import LearnedRefiner, LearnedRunConfig
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.scoring.learned import LearnedScorer
from fpose_ros.core.synthetic.assets import procedural_object
from fpose_ros.core.transforms import make_transform, so3_exp


@dataclass(frozen=True)
class Timing:
    """Wall times of one benchmarked operation, milliseconds."""

    name: str
    n: int
    median_ms: float
    p90_ms: float


def time_it(fn: Callable[[], object], repeats: int, device: torch.device) -> tuple[float, float]:
    """Median and p90 (nearest rank) of ``repeats`` timed calls after one warm-up, milliseconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(1000.0 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refine-n", type=int, nargs="*", default=[1, 252], help="crops per refine iteration")
    parser.add_argument("--score-n", type=int, nargs="*", default=[252], help="crops per score pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row (after one warm-up)")
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per network call")
    parser.add_argument("--device", default="cpu", help="torch device")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = procedural_object(3)
    K = torch.tensor([[600.0, 0.0, 319.5], [0.0, 600.0, 239.5], [0.0, 0.0, 1.0]], device=device)
    T_true = make_transform(so3_exp(torch.tensor([[0.3, -0.5, 0.2]])), torch.tensor([[0.02, -0.01, 0.6]])).to(device)
    renderer = TorchRasterizer()
    out = renderer.render(MeshTensors.from_object_model(model, device), T_true, K, 480, 640)
    obs = Observation(rgb=out.rgb[0], depth=out.depth[0], xyz=backproject_depth(out.depth[0], K), mask=out.mask[0],
                      K=K)
    run = LearnedRunConfig(batch_size=args.batch_size)
    refiner = LearnedRefiner(renderer, RefineNet(), run=run)
    scorer = LearnedScorer(renderer, ScoreNet(), run=run)

    def hypotheses(n: int) -> torch.Tensor:
        R = so3_exp(0.3 * torch.randn(n, 3, device=device))
        return make_transform(R @ T_true[:, :3, :3], T_true[:, :3, 3].expand(n, 3))

    rows = []
    for n in args.refine_n:
        T = hypotheses(n)
        rows.append(Timing("refine (1 iteration)", n, *time_it(lambda T=T: refiner.refine(model, obs, T, 1),
                                                                 args.repeats, device)))
    for n in args.score_n:
        T = hypotheses(n)
        rows.append(Timing("score (1 pass)", n, *time_it(lambda T=T: scorer.score(model, obs, T), args.repeats,
                                                           device)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"device: {device}, torch threads: {torch.get_num_threads()}, batch size: {args.batch_size}")
    print(f"{'operation':<22} {'crops':>6} {'median ms':>11} {'p90 ms':>10}")
    for r in rows:
        print(f"{r.name:<22} {r.n:>6} {r.median_ms:>11.1f} {r.p90_ms:>10.1f}")
    print(f"peak RSS: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
