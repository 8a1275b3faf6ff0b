"""CLI: render a synthetic training data set into resumable shards.

``python -m fpose_ros.training.generate --out DIR --n N [--small] [--split train|heldout] [--shard-size S]``

N is the number of scenes; each scene gives ``pairs_per_scene`` refiner pairs and one scorer group.
Re-running with the same arguments skips finished shards.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
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
    renderer = TorchRasterizer()
    pairs, groups = [], []
    for _ in range(n_scenes):
        scene = random_scene(split, rng, config, renderer)
        pairs.append(refiner_pairs(scene, rng, config, renderer))
        groups.append(scorer_group(scene, rng, config, renderer))
    return (RefinerPairs(*(torch.cat([getattr(p, f.name) for p in pairs]) for f in dataclasses.fields(RefinerPairs))),
            ScorerGroups(*(torch.cat([getattr(g, f.name) for g in groups]) for f in dataclasses.fields(ScorerGroups))))


def generate(out: Path, n_scenes: int, split: str, config: SampleConfig, seed: int, shard_size: int) -> Manifest:
    """Write (or finish) a data set in ``out``; prints progress and scenes/s. Returns the final manifest.

    Raises ConfigError when ``out`` holds a data set made with other settings.
    """
    if n_scenes < 1 or shard_size < 1:
        raise ConfigError(f"--n and --shard-size must be >= 1, got {n_scenes} and {shard_size}")
    out.mkdir(parents=True, exist_ok=True)
    wanted = Manifest(split=split, seed=seed, shard_size=shard_size, n_scenes=n_scenes, config=config)
    existing = read_manifest(out)
    if existing is not None and dataclasses.replace(existing, shards=()) != wanted:
        raise ConfigError(f"{out} already holds a data set with other settings; choose another --out")
    manifest = existing or wanted
    write_manifest(out, manifest)
    start, done_scenes = time.perf_counter(), 0
    for index in range(manifest.n_shards):
        name = shard_name(index)
        if name in manifest.shards:
            continue
        count = min(shard_size, n_scenes - index * shard_size)
        pairs, groups = generate_shard(split, seed + index, count, config)
        write_shard(out / name, pairs, groups)
        manifest = dataclasses.replace(manifest, shards=tuple(sorted((*manifest.shards, name))))
        write_manifest(out, manifest)
        done_scenes += count
        rate = done_scenes / (time.perf_counter() - start)
        print(f"[{len(manifest.shards)}/{manifest.n_shards} shards] {rate:.2f} scenes/s, "
              f"{rate * (config.pairs_per_scene + config.group_size):.1f} crop pairs/s", flush=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, required=True, help="number of scenes")
    parser.add_argument("--split", choices=("train", "heldout"), default="train")
    parser.add_argument("--small", action="store_true", help="quarter-size frames, 4 hypotheses per group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-size", type=int, default=16)
    args = parser.parse_args(argv)
    config = SMALL_CONFIG if args.small else SampleConfig()
    try:
        manifest = generate(args.out, args.n, args.split, config, args.seed, args.shard_size)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done: {len(manifest.shards)} shards in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
