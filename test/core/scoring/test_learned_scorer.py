"""LearnedScorer: one ranking pass over all hypotheses, chunked embedding, the real network end to end."""

from __future__ import annotations

import pytest
import torch
from geometry_helpers import pose
from learned_scene import observe
from torch import nn

from fpose_ros.core.errors import InputError
from fpose_ros.core.nets import ScoreNet, ScoreNetConfig, build_net
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.refinement.learned import LearnedRunConfig
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.scoring.learned import LearnedScorer
from fpose_ros.core.synthetic.assets import procedural_object


class XyzAgreementNet(nn.Module):
    """Stands in for ScoreNet: feature = -mean |xyz_A - xyz_B|; ranking records how many it saw at once."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[int] = []
        self.ranked: list[int] = []

    def embed(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        self.embedded.append(A.shape[0])
        return -(A[:, 3:] - B[:, 3:]).abs().mean(dim=(1, 2, 3))[:, None].expand(-1, 512)

    def rank(self, features: torch.Tensor) -> torch.Tensor:
        self.ranked.append(features.shape[0])
        return features[:, 0]


@pytest.fixture(scope="module")
def model() -> ObjectModel:
    return procedural_object(3)


@pytest.fixture(scope="module")
def T_true() -> torch.Tensor:
    return pose([0.3, -0.5, 0.2], [0.02, -0.01, 0.6])


def test_all_hypotheses_ranked_in_one_pass(model: ObjectModel, T_true: torch.Tensor) -> None:
    T = torch.cat([pose([0.9, 0.0, 0.0], [0.02, -0.01, 0.6]), T_true, pose([0.0, 0.0, 2.0], [0.03, 0.0, 0.6])])
    net = XyzAgreementNet()
    scores = LearnedScorer(TorchRasterizer(), net, run=LearnedRunConfig(batch_size=2)).score(
        model, observe(model, T_true), T)
    assert net.embedded == [2, 1] and net.ranked == [3]
    assert scores.shape == (3,) and scores.dtype == torch.float32
    assert int(scores.argmax()) == 1  # the true pose agrees best with the observation


def test_random_weights_end_to_end(model: ObjectModel, T_true: torch.Tensor) -> None:
    torch.manual_seed(0)
    T = torch.cat([T_true, pose([0.5, 0.0, 0.0], [0.02, -0.01, 0.6])])
    scorer = LearnedScorer(TorchRasterizer(), ScoreNet())
    scores = scorer.score(model, observe(model, T_true), T)
    assert scores.shape == (2,) and torch.isfinite(scores).all()
    swapped = scorer.score(model, observe(model, T_true), T[[1, 0]])
    torch.testing.assert_close(swapped, scores[[1, 0]], atol=1e-4, rtol=1e-4)


def test_narrow_checkpoint_ranks_at_its_crop_size(model: ObjectModel, T_true: torch.Tensor) -> None:
    torch.manual_seed(0)
    small = ScoreNetConfig(width=0.25, input_resize=(64, 64))
    T = torch.cat([T_true, pose([0.5, 0.0, 0.0], [0.02, -0.01, 0.6])])
    scores = LearnedScorer(TorchRasterizer(), build_net(small).eval(), small).score(model, observe(model, T_true), T)
    assert scores.shape == (2,) and torch.isfinite(scores).all()


def test_bad_and_empty_input(model: ObjectModel, T_true: torch.Tensor) -> None:
    scorer = LearnedScorer(TorchRasterizer(), XyzAgreementNet())
    obs = observe(model, T_true)
    assert scorer.score(model, obs, torch.zeros(0, 4, 4)).shape == (0,)
    with pytest.raises(InputError):
        scorer.score(model, obs, torch.zeros(2, 3, 4))
