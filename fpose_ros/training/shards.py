"""Data-set shards on disk: compressed ``.npz`` files plus a JSON manifest, written resumably.

Layout of a data-set directory::

    manifest.json          {"version", "split", "seed", "shard_size", "n_scenes", "config", "shards": [...]}
    shard_00000.npz        refine_A, refine_B (P, 6, S, S) float16; refine_trans, refine_rot (P, 3) float32;
                           score_A, score_B (G, L, 6, S, S) float16; score_positive (G,) int64

A shard is listed in the manifest only after its file is completely written (atomic rename), so an
interrupted run resumes by skipping listed shards. Shard ``i`` is generated from seed ``seed + i``, so a
resumed data set equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fpose_ros.core.errors import InputError
from fpose_ros.training.samples import RefinerPairs, SampleConfig, ScorerGroups

MANIFEST = "manifest.json"
VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What a data-set directory holds.

    Attributes:
        split: asset split the scenes were drawn from ("train" or "heldout").
        seed: base seed (shard i uses seed + i).
        shard_size: scenes per shard.
        n_scenes: scenes in the complete data set.
        config: the sample settings.
        shards: file names of the finished shards, in index order.
    """

    split: str
    seed: int
    shard_size: int
    n_scenes: int
    config: SampleConfig
    shards: tuple[str, ...] = ()

    @property
    def n_shards(self) -> int:
        """Shards in the complete data set."""
        return -(-self.n_scenes // self.shard_size)


def shard_name(index: int) -> str:
    """File name of shard ``index``."""
    return f"shard_{index:05d}.npz"


def read_manifest(directory: str | Path) -> Manifest | None:
    """The manifest of ``directory``, or None when there is none. Raises InputError when it is unreadable."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        config = data["config"]
        config = SampleConfig(**{**config, "trans_normalizer": tuple(config["trans_normalizer"]),
                                 "distance_m": tuple(config["distance_m"])})
        return Manifest(split=data["split"], seed=int(data["seed"]), shard_size=int(data["shard_size"]),
                        n_scenes=int(data["n_scenes"]), config=config, shards=tuple(data["shards"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a valid data-set manifest: {exc}") from exc


def write_manifest(directory: str | Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically."""
    data = {"version": VERSION, **dataclasses.asdict(manifest)}
    _atomic_write(Path(directory) / MANIFEST, json.dumps(data, indent=1).encode())


def write_shard(path: str | Path, pairs: RefinerPairs, groups: ScorerGroups) -> None:
    """Save one shard (crops as float16) atomically."""
    path = Path(path)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        refine_A=pairs.A.numpy().astype(np.float16), refine_B=pairs.B.numpy().astype(np.float16),
        refine_trans=pairs.trans_target.numpy(), refine_rot=pairs.rot_target.numpy(),
        score_A=groups.A.numpy().astype(np.float16), score_B=groups.B.numpy().astype(np.float16),
        score_positive=groups.positive.numpy(),
    )
    os.replace(tmp, path)


def read_shard(path: str | Path) -> tuple[RefinerPairs, ScorerGroups]:
    """Load one shard; crops stay float16 (half the memory; convert per batch), targets float32.

    Poses are not stored: T_in / T_gt are empty (0, 4, 4).
    """
    try:
        with np.load(path) as f:
            data = {k: torch.from_numpy(f[k]) for k in f}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a readable shard: {exc}") from exc
    empty = torch.zeros(0, 4, 4)
    pairs = RefinerPairs(A=data["refine_A"], B=data["refine_B"], trans_target=data["refine_trans"],
                         rot_target=data["refine_rot"], T_in=empty, T_gt=empty)
    return pairs, ScorerGroups(A=data["score_A"], B=data["score_B"], positive=data["score_positive"])


def read_dataset(directory: str | Path) -> tuple[RefinerPairs, ScorerGroups]:
    """Concatenate every finished shard of a data-set directory. Raises InputError when there is none."""
    manifest = read_manifest(directory)
    if manifest is None or not manifest.shards:
        raise InputError(f"{directory}: no finished shards (run python -m fpose_ros.training.generate first)")
    parts = [read_shard(Path(directory) / name) for name in manifest.shards]
    pairs = RefinerPairs(*(torch.cat([getattr(p, f.name) for p, _ in parts])
                           for f in dataclasses.fields(RefinerPairs)))
    groups = ScorerGroups(*(torch.cat([getattr(g, f.name) for _, g in parts])
                            for f in dataclasses.fields(ScorerGroups)))
    return pairs, groups


def _atomic_write(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
