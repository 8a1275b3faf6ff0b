"""CLI: render a synthetic training data set into resumable shards.

``python -m fpose_ros.training.generate --out DIR --n N [--small] [--split train|heldout] [--shard-size S]
[--workers W]``

N is the number of scenes; each scene gives ``pairs_per_scene`` refiner pairs and one scorer group.
Re-running with the same arguments skips finished shards. ``--workers`` renders shards in that many
processes (one torch thread each); shard ``i`` depends only on ``seed + i``, so the data set does not depend
on the worker count, and several machines can fill one shared directory's shards by splitting the work.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.factory import create_renderer
from fpose_ros.training.samples import (
    SMALL_CONFIG,
    RefinerPairs,
    SampleConfig,
    ScorerGroups,
    random_scene,
    refiner_pairs,
    scorer_group,
)
from fpose_ros.training.shards import Manifest, read_manifest, shard_name, write_manifest, write_shard


def generate_shard(split: str, seed: int, n_scenes: int, config: SampleConfig) -> tuple[RefinerPairs, ScorerGroups]:
    """Render ``n_scenes`` scenes from ``seed``: (n * pairs_per_scene) refiner pairs and n scorer groups."""
    rng = np.random.default_rng(seed)
    renderer = create_renderer()
    pairs, groups = [], []
    for _ in range(n_scenes):
        scene = random_scene(split, rng, config, renderer)
        pairs.append(refiner_pairs(scene, rng, config, renderer))
        groups.append(scorer_group(scene, rng, config, renderer))
    return (RefinerPairs(*(torch.cat([getattr(p, f.name) for p in pairs]) for f in dataclasses.fields(RefinerPairs))),
            ScorerGroups(*(torch.cat([getattr(g, f.name) for g in groups]) for f in dataclasses.fields(ScorerGroups))))


@dataclass(frozen=True)
class ShardTask:
    """One shard to render: its index, seed and scene count."""

    out: Path
    index: int
    split: str
    seed: int
    n_scenes: int
    config: SampleConfig


def render_shard(task: ShardTask) -> ShardTask:
    """Render and write one shard (atomically); returns the task once the file is complete."""
    pairs, groups = generate_shard(task.split, task.seed, task.n_scenes, task.config)
    write_shard(task.out / shard_name(task.index), pairs, groups)
    return task


def _worker_init() -> None:
    # Processes share the cores: one torch thread each avoids oversubscription.
    torch.set_num_threads(1)


def _run(tasks: list[ShardTask], workers: int) -> Iterator[ShardTask]:
    """The tasks as they finish (in index order); rendered in this process when ``workers`` is 1."""
    if workers == 1:
        yield from map(render_shard, tasks)
        return
    # "spawn": forking a process that has run torch threads can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
        yield from pool.map(render_shard, tasks)


def generate(out: Path, n_scenes: int, split: str, config: SampleConfig, seed: int, shard_size: int,
             workers: int = 1) -> Manifest:
    """Write (or finish) a data set in ``out``; prints progress and scenes/s. Returns the final manifest.

    Raises ConfigError when ``out`` holds a data set made with other settings, or on bad counts.
    """
    if n_scenes < 1 or shard_size < 1 or workers < 1:
        raise ConfigError(f"--n, --shard-size and --workers must be >= 1, got {n_scenes}, {shard_size}, {workers}")
    out.mkdir(parents=True, exist_ok=True)
    wanted = Manifest(split=split, seed=seed, shard_size=shard_size, n_scenes=n_scenes, config=config)
    existing = read_manifest(out)
    if existing is not None and dataclasses.replace(existing, shards=()) != wanted:
        raise ConfigError(f"{out} already holds a data set with other settings; choose another --out")
    manifest = existing or wanted
    write_manifest(out, manifest)
    tasks = [ShardTask(out, index, split, seed + index, min(shard_size, n_scenes - index * shard_size), config)
             for index in range(manifest.n_shards) if shard_name(index) not in manifest.shards]
    start, done_scenes = time.perf_counter(), 0
    for task in _run(tasks, workers):
        manifest = dataclasses.replace(manifest, shards=tuple(sorted((*manifest.shards, shard_name(task.index)))))
        write_manifest(out, manifest)
        done_scenes += task.n_scenes
        rate = done_scenes / (time.perf_counter() - start)
        print(f"[{len(manifest.shards)}/{manifest.n_shards} shards] {rate:.2f} samples/s (scenes), "
              f"{rate * config.pairs_per_scene:.1f} refiner pairs/s, {rate * config.group_size:.1f} scorer crops/s",
              flush=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, required=True, help="number of scenes")
    parser.add_argument("--split", choices=("train", "heldout"), default="train")
    parser.add_argument("--small", action="store_true",
                        help="64 px crops, 12 refiner pairs per scene, 4 hypotheses per group (for train --small)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    parser.add_argument("--fine-fraction", type=float, default=0.0,
                        help="fraction of refiner pairs perturbed by 10-40 %% of the usual bounds (default 0)")
    args = parser.parse_args(argv)
    try:
        config = dataclasses.replace(SMALL_CONFIG if args.small else SampleConfig(), fine_fraction=args.fine_fraction)
        manifest = generate(args.out, args.n, args.split, config, args.seed, args.shard_size, args.workers)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done: {len(manifest.shards)} shards in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
