"""The train-smoke pipeline learns: a short run on a small data set already helps on held-out objects."""

import dataclasses

import pytest
import torch

from fpose_ros.core.nets.checkpoint import load_refine_net
from fpose_ros.training.evaluate import evaluate_refiner
from fpose_ros.training.generate import generate
from fpose_ros.training.samples import SMALL_CONFIG
from fpose_ros.training.train import SMALL_TRAIN, train_net


@pytest.mark.slow
def test_one_refinement_step_reduces_heldout_error_after_a_short_run(tmp_path):
    data, out = tmp_path / "data", tmp_path / "weights"
    generate(data, n_scenes=720, split="train", config=SMALL_CONFIG, seed=0, shard_size=16, workers=2)
    config = dataclasses.replace(SMALL_TRAIN, steps=1000, log_every=100)
    train_net("refiner", data, out, config, resume=False, rank=0, world=1, device=torch.device("cpu"))

    net, net_config = load_refine_net(out / "refiner")
    assert net_config.width == SMALL_TRAIN.width and net_config.input_resize == (SMALL_CONFIG.crop_size,) * 2
    result = evaluate_refiner(net, net_config, n_scenes=16, config=SMALL_CONFIG, seed=12345)
    # Held-out objects, fixed seed: after one step both errors are below the input perturbation's.
    assert result.rot_deg[1] < result.rot_deg[0], result
    assert result.trans_mm[1] < result.trans_mm[0], result
