"""LearnedRefiner: crop alignment of its inputs, decoding wiring, chunking, the real network end to end."""

from __future__ import annotations

import pytest
import torch
from geometry_helpers import pose
from learned_scene import observe
from torch import nn

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.nets import RefineNet, RefineNetConfig, build_net
from fpose_ros.core.nets.batching import AdaptiveBatcher
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.refinement.learned import LearnedRefiner, LearnedRunConfig
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.synthetic.assets import procedural_object


class RecordingNet(nn.Module):
    """Stands in for RefineNet: a fixed translation output, a rotation output depending on the inputs."""

    def __init__(self, trans: list[float]) -> None:
        super().__init__()
        self.trans = torch.tensor(trans)
        self.inputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.inputs.append((A, B))
        rot = (A - B).mean(dim=(2, 3))[:, 3:6]
        return self.trans.expand(A.shape[0], 3), rot


@pytest.fixture(scope="module")
def model() -> ObjectModel:
    return procedural_object(3)


@pytest.fixture(scope="module")
def T_true() -> torch.Tensor:
    return pose([0.3, -0.5, 0.2], [0.02, -0.01, 0.6])


def test_inputs_are_aligned_crops(model: ObjectModel, T_true: torch.Tensor) -> None:
    net = RecordingNet([0.0, 0.0, 0.0])
    LearnedRefiner(TorchRasterizer(), net).refine(model, observe(model, T_true), T_true, 1)
    (A, B), = net.inputs
    assert A.shape == B.shape == (1, 6, 160, 160) and A.dtype == torch.float32
    both = (A[:, 3:].abs().sum(1) > 0) & (B[:, 3:].abs().sum(1) > 0)
    assert both.float().mean() > 0.2  # the object fills a good part of the crop
    # At the true pose the rendering and the observed crop show the same points, up to the nearest-pixel
    # sampling of the coarser observation (one image pixel spans z / f = 4 mm here).
    gap_m = (A[:, 3:] - B[:, 3:]).norm(dim=1)[both] * model.diameter / 2
    assert gap_m.median() < 0.6 / 150 and A[:, 3:].abs().max() < 2.0
    assert 0.0 <= A[:, :3].min() and A[:, :3].max() <= 1.0


def test_crop_size_comes_from_the_checkpoint_config(model: ObjectModel, T_true: torch.Tensor) -> None:
    net = RecordingNet([0.0, 0.0, 0.0])
    small = RefineNetConfig(width=0.25, input_resize=(64, 64))
    LearnedRefiner(TorchRasterizer(), net, small).refine(model, observe(model, T_true), T_true, 1)
    (A, B), = net.inputs
    assert A.shape == B.shape == (1, 6, 64, 64)
    out = LearnedRefiner(TorchRasterizer(), build_net(small).eval(), small).refine(
        model, observe(model, T_true), T_true, 1)
    assert out.shape == (1, 4, 4) and torch.isfinite(out).all()


def test_decoded_steps_accumulate_in_camera_frame(model: ObjectModel, T_true: torch.Tensor) -> None:
    refiner = LearnedRefiner(TorchRasterizer(), RecordingNet([0.1, 0.0, -0.05]))
    out = refiner.refine(model, observe(model, T_true), T_true, 2)
    expected_t = T_true[0, :3, 3] + 2 * torch.tensor([0.1, 0.0, -0.05]) * model.diameter / 2
    torch.testing.assert_close(out[0, :3, 3], expected_t, atol=1e-6, rtol=0)
    assert out.dtype == torch.float32 and out.shape == (1, 4, 4)


def test_chunked_equals_whole_batch(model: ObjectModel, T_true: torch.Tensor) -> None:
    obs = observe(model, T_true)
    T = torch.cat([T_true, pose([0.2, 0.1, 0.0], [0.0, 0.0, 0.62]), pose([0.0, 0.4, 0.1], [0.01, 0.0, 0.58])])
    whole = LearnedRefiner(TorchRasterizer(), RecordingNet([0.0, 0.01, 0.0]), run=LearnedRunConfig(8))
    chunked_net = RecordingNet([0.0, 0.01, 0.0])
    chunked = LearnedRefiner(TorchRasterizer(), chunked_net, run=LearnedRunConfig(batch_size=2))
    torch.testing.assert_close(chunked.refine(model, obs, T, 2), whole.refine(model, obs, T, 2), atol=1e-5, rtol=0)
    assert [a.shape[0] for a, _ in chunked_net.inputs] == [2, 1, 2, 1]
    # Different observed poses give different rotation steps: the test is not vacuous.
    assert not torch.allclose(whole.refine(model, obs, T, 1)[0, :3, :3], whole.refine(model, obs, T, 1)[1, :3, :3])


def test_random_weights_end_to_end(model: ObjectModel, T_true: torch.Tensor) -> None:
    torch.manual_seed(0)
    out = LearnedRefiner(TorchRasterizer(), RefineNet()).refine(model, observe(model, T_true), T_true, 1)
    R = out[0, :3, :3]
    assert torch.isfinite(out).all()
    torch.testing.assert_close(R @ R.T, torch.eye(3), atol=1e-5, rtol=0)
    # One step moves at most 20 deg per axis and a few radii.
    assert (out[0, :3, 3] - T_true[0, :3, 3]).norm() < 2 * model.diameter


def test_adaptive_batcher_halves_on_out_of_memory() -> None:
    calls: list[tuple[int, int]] = []

    def fn(a: int, b: int) -> torch.Tensor:
        calls.append((a, b))
        if b - a > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return torch.arange(a, b)

    batcher = AdaptiveBatcher(8)
    assert torch.equal(torch.cat(batcher.map(7, fn)), torch.arange(7))
    assert calls[:3] == [(0, 7), (0, 3), (0, 1)] and batcher.batch_size == 1
    with pytest.raises(ValueError):
        AdaptiveBatcher(4).map(3, lambda a, b: (_ for _ in ()).throw(ValueError("other")))


def test_bad_input(model: ObjectModel, T_true: torch.Tensor) -> None:
    refiner = LearnedRefiner(TorchRasterizer(), RecordingNet([0.0, 0.0, 0.0]))
    obs = observe(model, T_true)
    with pytest.raises(InputError):
        refiner.refine(model, obs, T_true[0], 1)
    with pytest.raises(InputError):
        refiner.refine(model, obs, T_true * float("nan"), 1)
    with pytest.raises(ConfigError):
        refiner.refine(model, obs, T_true, -1)
    with pytest.raises(ConfigError):
        LearnedRunConfig(batch_size=0)
