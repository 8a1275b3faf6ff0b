"""The learned path through the engine: checkpoints named in EstimatorConfig -> build_estimator -> register/track."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.nets import RefineNet, RefineNetConfig, ScoreNet, ScoreNetConfig, save_checkpoint
from fpose_ros.core.refinement.learned import LearnedRefiner
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.scoring.learned import LearnedScorer
from fpose_ros.core.synthetic.assets import procedural_object
from fpose_ros.core.transforms import make_transform, so3_exp


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    score_net = ScoreNet()
    # Random weights give logits of random sign; a large output bias keeps the best one above the engine's
    # min_register_score, so registration returns a pose and tracking can follow it.
    score_net.linear.bias.data.fill_(100.0)
    return (save_checkpoint(RefineNet(), RefineNetConfig(), root / "refine"),
            save_checkpoint(score_net, ScoreNetConfig(), root / "score"))


def test_register_and_track_with_random_weights(checkpoints: tuple[Path, Path]) -> None:
    model = procedural_object(3)
    camera = CameraIntrinsics(fx=150.0, fy=150.0, cx=79.5, cy=59.5, width=160, height=120)
    T_true = make_transform(so3_exp(torch.tensor([[0.3, -0.5, 0.2]])), torch.tensor([[0.02, -0.01, 0.6]]))
    K = torch.tensor([[150.0, 0.0, 79.5], [0.0, 150.0, 59.5], [0.0, 0.0, 1.0]])
    out = TorchRasterizer().render(MeshTensors.from_object_model(model), T_true, K, 120, 160)
    frame = RGBDFrame(rgb=(out.rgb[0].numpy() * 255).astype(np.uint8), depth=out.depth[0].numpy(),
                      intrinsics=camera)
    config = EstimatorConfig(min_views=1, inplane_step_deg=180.0, top_k=1, coarse_iterations=1,
                             register_iterations=1, track_iterations=1, min_register_score=0.0, renderer="torch",
                             refiner="learned", refiner_weights_dir=str(checkpoints[0]),
                             scorer="learned", scorer_weights_dir=str(checkpoints[1]), batch_size=8)
    estimator = build_estimator(model, config)
    for refiner in (estimator.coarse_refiner, estimator.fine_refiner, estimator.track_refiner):
        assert isinstance(refiner, LearnedRefiner)
    assert isinstance(estimator.coarse_scorer, LearnedScorer) and isinstance(estimator.scorer, LearnedScorer)
    registered = estimator.register(frame, out.mask[0].numpy())
    assert registered.T_cam_obj is not None and np.isfinite(registered.T_cam_obj).all()
    tracked = estimator.track(frame, registered)
    assert tracked.T_cam_obj is not None and np.isfinite(tracked.T_cam_obj).all()


def test_missing_checkpoint_is_a_config_error(tmp_path: Path, checkpoints: tuple[Path, Path]) -> None:
    model = procedural_object(3)

    def learned(scorer_dir: Path) -> EstimatorConfig:
        return EstimatorConfig(renderer="torch", refiner="learned", refiner_weights_dir=str(checkpoints[0]),
                               scorer="learned", scorer_weights_dir=str(scorer_dir))

    with pytest.raises(ConfigError, match="not found"):
        build_estimator(model, learned(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="missing keys: encoderA"):
        build_estimator(model, learned(checkpoints[0]))
