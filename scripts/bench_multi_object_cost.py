#!/usr/bin/env python3
"""Per-frame tracking cost of three objects against one, as ``fpose_node`` tracks them (issue 15).

``.venv/bin/python scripts/bench_multi_object_cost.py [--frames 90] [--repeats 3] [--track-threads N]``

Renders a synthetic scene with three objects (one static, two moving slowly; 640x480), registers each
object on the first frame from its label, then tracks every frame, the same frames and objects in
every case: each object alone on a worker thread (the one-object node), the three on a worker thread
each tracking one at a time (the multi-object node: ``WorkerShared.tracking_lock``), and, for reference,
the three on a thread each all at once (the node before that lock) and one after another on one thread. Every
worker thread tracks with the node's torch intra-op threads (``TRACKING_THREADS``; ``--track-threads
0``: torch's default, as before the node set it). Prints per repeat and case the median and p90 wall
time per frame (ms), the median CPU time of the process per frame (ms) and the ratio of the median
wall time to one object's (the mean of the three objects' medians alone), then a summary table:
one object against three on a thread each, medians over the repeats (issue 15's acceptance: at most
2.2x). Engine defaults (geometric refiner and scorer, CPU); the frame conversion the node shares
between objects is not included.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from fpose_ros import _node_env  # noqa: F401 - before torch, as in the node: OpenMP threads must not spin
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.synthetic.multi_object import MultiObjectSequence, MultiObjectSpec, render_multi_object_sequence
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker
from fpose_ros.ros.object_worker import TRACKING_THREADS

ASSETS = ("proc:21", "proc:22", "proc:23")


@dataclass(frozen=True)
class Costs:
    """One case's per-frame costs: wall (s) and process CPU (s) per frame after the first, fraction posed."""

    wall_s: np.ndarray
    cpu_s: np.ndarray
    posed: float

    @property
    def median_ms(self) -> float:
        """Median wall time per frame, ms."""
        return float(np.median(self.wall_s)) * 1e3

    @property
    def p90_ms(self) -> float:
        """90th percentile of the wall time per frame, ms."""
        return float(np.percentile(self.wall_s, 90)) * 1e3


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


def frame_costs(seq: MultiObjectSequence, objects: Sequence[int], thread_each: bool, track_threads: int,
                serialized: bool = True) -> Costs:
    """Track ``objects`` on every frame after the first: on a worker thread each, or all on one worker thread.

    ``track_threads``: torch intra-op threads of the worker threads (0: torch's default).
    ``serialized``: the worker threads track one at a time, as the node's (``WorkerShared.tracking_lock``).
    """
    import torch  # here, not at the top: the import sorter would put it before _node_env

    trackers = registered(seq, objects)
    workers = len(trackers) if thread_each else 1
    setup = (lambda: torch.set_num_threads(track_threads)) if track_threads > 0 else None
    lock = threading.Lock() if serialized else contextlib.nullcontext()

    def track_all(group: Sequence[ObjectTracker], frame: object) -> list[bool]:
        with lock:
            return [tracker.process(frame).has_pose for tracker in group]  # type: ignore[arg-type]

    groups = [[t] for t in trackers] if thread_each else [trackers]
    wall, cpu, posed = [], [], 0
    with ThreadPoolExecutor(workers, initializer=setup) as pool:
        for frame in seq.frames[1:]:
            start, start_cpu = time.perf_counter(), time.process_time()
            results = list(pool.map(track_all, groups, [frame] * len(groups)))
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            posed += sum(sum(r) for r in results)
    return Costs(np.array(wall), np.array(cpu), posed / (len(wall) * len(trackers)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--track-threads", type=int, default=TRACKING_THREADS,
                        help="torch intra-op threads while tracking (default: the node's; 0: torch's default)")
    args = parser.parse_args()
    seq = render_multi_object_sequence(MultiObjectSpec(ASSETS, ("static", "slow", "slow"), (None, None, None),
                                                       n_frames=args.frames, seed=4, spacing_m=0.2, depth_m=0.7))
    every = range(len(ASSETS))
    print(f"{'repeat':>6} {'case':<27} {'median ms':>9} {'p90 ms':>7} {'cpu ms':>7} {'x one':>6} {'posed':>6}")
    one: list[tuple[float, float]] = []
    three: list[tuple[float, float]] = []
    for repeat in range(args.repeats):
        alone = [frame_costs(seq, [k], True, args.track_threads) for k in every]
        one_ms = statistics.mean(c.median_ms for c in alone)
        each = frame_costs(seq, every, True, args.track_threads)
        cases = [(f"object {k} alone", c) for k, c in enumerate(alone)]
        cases += [("three, a thread each", each),
                  ("three, threads unserialized", frame_costs(seq, every, True, args.track_threads, False)),
                  ("three, one thread", frame_costs(seq, every, False, args.track_threads))]
        for name, costs in cases:
            print(f"{repeat:>6} {name:<27} {costs.median_ms:>9.1f} {costs.p90_ms:>7.1f} "
                  f"{float(np.median(costs.cpu_s)) * 1e3:>7.1f} {costs.median_ms / one_ms:>6.2f} "
                  f"{costs.posed:>6.2f}", flush=True)
        one.append((one_ms, statistics.mean(c.p90_ms for c in alone)))
        three.append((each.median_ms, each.p90_ms))
    one_ms, one_p90 = (statistics.median(v) for v in zip(*one, strict=True))
    three_ms, three_p90 = (statistics.median(v) for v in zip(*three, strict=True))
    print(f"\nper frame, median of {args.repeats} repeats ({args.track_threads or 'default'} tracking thread(s)):")
    print(f"{'objects':>7} {'median ms':>9} {'p90 ms':>7} {'x one':>6}")
    print(f"{1:>7} {one_ms:>9.1f} {one_p90:>7.1f} {1.0:>6.2f}")
    print(f"{3:>7} {three_ms:>9.1f} {three_p90:>7.1f} {three_ms / one_ms:>6.2f}")


if __name__ == "__main__":
    main()
