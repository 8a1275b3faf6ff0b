#!/usr/bin/env python3
"""Per-frame tracking cost of one object against three, as ``fpose_node`` tracks several objects (issue 15).

``.venv/bin/python scripts/bench_multi_object_cost.py [--frames 90] [--repeats 3]``

Renders a synthetic scene with three objects (one static, two moving slowly; 640x480), registers each
object on the first frame from its label, then tracks every frame: each object alone, the three one
after another in one thread, and the three on a thread each (what the node does: one worker thread per
object). Prints per case the median and p90 wall time per frame (ms) and its ratio to the mean cost of
one object alone (issue 15's acceptance: three objects at most 2.2x one). Engine defaults (geometric
refiner and scorer, CPU); the frame conversion the node shares between objects is not included.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fpose_ros import _node_env  # noqa: F401 - before torch, as in the node: OpenMP threads must not spin
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.synthetic.multi_object import MultiObjectSequence, MultiObjectSpec, render_multi_object_sequence
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker

ASSETS = ("proc:21", "proc:22", "proc:23")


def registered(seq: MultiObjectSequence, objects: Sequence[int]) -> list[ObjectTracker]:
    """A tracker per object, registered on frame 0 from its label's pixels."""
    trackers = []
    for k in objects:
        estimator = build_estimator(seq.models[k], EstimatorConfig())
        estimator.warm_up()
        tracker = ObjectTracker(estimator, LossCriteria())
        result = tracker.process(seq.frames[0], seq.labels[0] == k + 1)
        if not result.has_pose:
            raise RuntimeError(f"object {k} did not register: {result.reason}")
        trackers.append(tracker)
    return trackers


def frame_costs(seq: MultiObjectSequence, objects: Sequence[int], threaded: bool) -> tuple[np.ndarray, float]:
    """Wall time (s) of tracking ``objects`` on each frame after the first, and the fraction of poses."""
    trackers = registered(seq, objects)
    costs, posed = [], 0
    with ThreadPoolExecutor(len(trackers)) as pool:
        for frame in seq.frames[1:]:
            start = time.perf_counter()
            if threaded:
                results = list(pool.map(ObjectTracker.process, trackers, [frame] * len(trackers)))
            else:
                results = [tracker.process(frame) for tracker in trackers]
            costs.append(time.perf_counter() - start)
            posed += sum(r.has_pose for r in results)
    return np.array(costs), posed / (len(costs) * len(trackers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seq = render_multi_object_sequence(MultiObjectSpec(ASSETS, ("static", "slow", "slow"), (None, None, None),
                                                       n_frames=args.frames, seed=4, spacing_m=0.2, depth_m=0.7))
    print(f"{'repeat':>6} {'case':<22} {'median ms':>9} {'p90 ms':>7} {'x one':>6} {'posed':>6}")
    for repeat in range(args.repeats):
        alone = [frame_costs(seq, [k], threaded=False) for k in range(len(ASSETS))]
        one_ms = statistics.mean(float(np.median(c)) for c, _ in alone) * 1e3
        cases = [(f"object {k} alone", c, p) for k, (c, p) in enumerate(alone)]
        cases += [("three, one thread", *frame_costs(seq, range(len(ASSETS)), threaded=False)),
                  ("three, thread each", *frame_costs(seq, range(len(ASSETS)), threaded=True))]
        for name, costs, posed in cases:
            median_ms = float(np.median(costs)) * 1e3
            print(f"{repeat:>6} {name:<22} {median_ms:>9.1f} {np.percentile(costs, 90) * 1e3:>7.1f} "
                  f"{median_ms / one_ms:>6.2f} {posed:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
