import json

import pytest
import torch

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.training import generate as generate_module
from fpose_ros.training.samples import SMALL_CONFIG, RefinerPairs, ScorerGroups
from fpose_ros.training.shards import read_dataset, read_manifest


def _fake_shard(split, seed, n_scenes, config):
    g = torch.Generator().manual_seed(seed)
    n = n_scenes * 2
    pairs = RefinerPairs(A=torch.rand(n, 6, 8, 8, generator=g), B=torch.rand(n, 6, 8, 8, generator=g),
                         trans_target=torch.rand(n, 3, generator=g), rot_target=torch.rand(n, 3, generator=g),
                         T_in=torch.zeros(0, 4, 4), T_gt=torch.zeros(0, 4, 4))
    groups = ScorerGroups(A=torch.rand(n_scenes, 3, 6, 8, 8, generator=g),
                          B=torch.rand(n_scenes, 3, 6, 8, 8, generator=g),
                          positive=torch.full((n_scenes,), seed, dtype=torch.int64))
    return pairs, groups


def test_resume_skips_finished_shards(tmp_path, monkeypatch):
    calls = []

    def interrupted(split, seed, n_scenes, config):
        calls.append(seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return _fake_shard(split, seed, n_scenes, config)

    monkeypatch.setattr(generate_module, "generate_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_module.generate(tmp_path, 5, "train", SMALL_CONFIG, seed=10, shard_size=2)
    assert read_manifest(tmp_path).shards == ("shard_00000.npz",)

    calls.clear()
    monkeypatch.setattr(generate_module, "generate_shard", lambda *a: (calls.append(a[1]), _fake_shard(*a))[1])
    manifest = generate_module.generate(tmp_path, 5, "train", SMALL_CONFIG, seed=10, shard_size=2)
    assert calls == [11, 12]
    assert manifest.shards == ("shard_00000.npz", "shard_00001.npz", "shard_00002.npz")
    pairs, groups = read_dataset(tmp_path)
    assert pairs.A.shape == (10, 6, 8, 8) and groups.A.shape == (5, 3, 6, 8, 8)
    assert groups.positive.tolist() == [10, 10, 11, 11, 12]
    assert json.loads((tmp_path / "manifest.json").read_text())["n_scenes"] == 5


def test_other_settings_in_same_directory_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(generate_module, "generate_shard", _fake_shard)
    generate_module.generate(tmp_path, 2, "train", SMALL_CONFIG, seed=0, shard_size=2)
    with pytest.raises(ConfigError):
        generate_module.generate(tmp_path, 3, "train", SMALL_CONFIG, seed=0, shard_size=2)


def test_empty_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        read_dataset(tmp_path)
