import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.nets.checkpoint import load_refine_net
from fpose_ros.training.samples import SMALL_CONFIG, RefinerPairs, ScorerGroups
from fpose_ros.training.shards import Manifest, write_manifest, write_shard
from fpose_ros.training.train import SMALL_TRAIN, TrainConfig, autocast_dtype, refiner_loss, scorer_loss

ROOT = Path(__file__).resolve().parents[2]


def test_scorer_loss_is_zero_only_when_positive_wins_by_margin():
    positive = torch.tensor([1, 0])
    good = torch.tensor([[0.0, 0.5, 0.2], [1.0, 0.0, 0.85]])
    assert scorer_loss(good, positive) == 0
    bad = torch.tensor([[0.0, 0.5, 0.45], [1.0, 0.0, 0.85]])
    assert scorer_loss(bad, positive) > 0
    worse = bad.clone()
    worse[0, 1] = 0.3  # the positive now loses to a negative
    assert scorer_loss(worse, positive) > scorer_loss(bad, positive)


def test_refiner_loss_vanishes_at_the_target():
    trans, rot = torch.randn(4, 3), torch.rand(4, 3) * 1.8 - 0.9
    assert refiner_loss(trans, torch.atanh(rot), trans, rot) < 1e-10
    assert refiner_loss(trans + 0.1, torch.atanh(rot), trans, rot) > 1e-3


def test_learning_rate_warms_up_then_decays_to_the_floor():
    config = TrainConfig(steps=1000, lr=1e-3, warmup=100)
    rates = [config.learning_rate(step) for step in range(1000)]
    assert rates[0] == pytest.approx(1e-5) and rates[99] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[99:], rates[100:], strict=False))
    assert rates[-1] == pytest.approx(0.05e-3, rel=0.01)


def test_bad_training_settings_are_refused():
    for bad in ({"steps": 0}, {"lr": 0.0}, {"width": 0.0}, {"batch": 0}):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)


@pytest.mark.parametrize(("amx", "avx512_bf16", "expected"), [
    (True, False, torch.bfloat16), (False, True, torch.bfloat16), (False, False, None)])
def test_cpu_autocasts_to_bfloat16_only_where_the_cpu_computes_it(monkeypatch, amx, avx512_bf16, expected):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    assert autocast_dtype(torch.device("cpu"), "auto", "refiner") is expected
    assert autocast_dtype(torch.device("cpu"), "fp32", "refiner") is None
    assert autocast_dtype(torch.device("cpu"), "auto", "scorer") is None  # logits finer than the hinge margin


def test_cuda_autocasts_to_float16_unless_told_fp32():
    for kind in ("refiner", "scorer"):
        assert autocast_dtype(torch.device("cuda", 0), "auto", kind) is torch.float16
        assert autocast_dtype(torch.device("cuda", 0), "fp32", kind) is None


def _tiny_dataset(directory: Path) -> None:
    g = torch.Generator().manual_seed(0)
    n, S = 2, SMALL_CONFIG.crop_size
    pairs = RefinerPairs(A=torch.rand(n, 6, S, S, generator=g), B=torch.rand(n, 6, S, S, generator=g),
                         trans_target=torch.rand(n, 3, generator=g) - 0.5,
                         rot_target=torch.rand(n, 3, generator=g) - 0.5,
                         T_in=torch.zeros(0, 4, 4), T_gt=torch.zeros(0, 4, 4))
    groups = ScorerGroups(A=torch.rand(1, 2, 6, S, S, generator=g), B=torch.rand(1, 2, 6, S, S, generator=g),
                          positive=torch.tensor([1]))
    directory.mkdir()
    write_shard(directory / "shard_00000.npz", pairs, groups)
    write_manifest(directory, Manifest(split="train", seed=0, shard_size=1, n_scenes=1, config=SMALL_CONFIG,
                                       shards=("shard_00000.npz",)))


@pytest.mark.slow
def test_torchrun_gloo_two_processes_train_resume_and_checkpoint_loads(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    _tiny_dataset(data)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    base = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
            "-m", "fpose_ros.training.train", "--data", str(data), "--out", str(out), "--net", "refiner",
            "--small", "--batch", "1", "--log-every", "1"]
    for extra in (["--steps", "1"], ["--steps", "2", "--resume"]):
        result = subprocess.run(base + extra, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr[-3000:]
    S = SMALL_CONFIG.crop_size
    with (out / "refiner" / "log.csv").open() as f:
        assert [int(float(r["step"])) for r in csv.DictReader(f)] == [1, 2]
    assert (out / "refiner" / "loss.png").stat().st_size > 0
    net, config = load_refine_net(out / "refiner")
    assert config.crop_ratio == SMALL_CONFIG.refine_crop_ratio
    assert config.width == SMALL_TRAIN.width and config.input_resize == (S, S)
    trans, rot = net(torch.rand(1, 6, S, S), torch.rand(1, 6, S, S))
    assert trans.shape == rot.shape == (1, 3)
