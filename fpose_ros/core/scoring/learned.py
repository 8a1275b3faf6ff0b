"""Learned scorer: FoundationPose's ScoreNet behind the :class:`~fpose_ros.core.scoring.base.Scorer` interface.

All hypotheses of a call are ranked in one pass: each (rendering, observed crop) pair becomes a feature
vector (512 at the released width; crop ratio and side S from the checkpoint's config, 1.1 and 160 px for the
released one; xyz cut-off 0.1 m), computed in chunks because pairs are independent there, then all vectors
attend to each other at once. The logits are comparable within one call only. Cost: N renderings of S^2
pixels and N pairs (~20 GFLOP each at the released size), plus an O(N^2) attention across hypotheses.
"""

from __future__ import annotations

import torch

from fpose_ros.core.nets.batching import AdaptiveBatcher, inference_context
from fpose_ros.core.nets.config import ScoreNetConfig, crop_size
from fpose_ros.core.nets.pair_inputs import make_pairs
from fpose_ros.core.nets.pose_update import SCORER_MIN_Z_M
from fpose_ros.core.nets.score_net import ScoreNet
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.refinement.learned import LearnedRunConfig, MeshCache, check_poses
from fpose_ros.core.rendering.base import Renderer


class LearnedScorer:
    """Scores hypotheses with a :class:`ScoreNet` (implements ``Scorer``).

    Args:
        renderer: draws the crops (on the observation's device).
        net: the network, in eval mode (see :func:`~fpose_ros.core.nets.load_score_net`); moved to the
            observation's device on first use.
        net_config: its checkpoint config (crop ratio).
        run: batching and precision.
    """

    def __init__(
        self,
        renderer: Renderer,
        net: ScoreNet,
        net_config: ScoreNetConfig | None = None,
        run: LearnedRunConfig | None = None,
    ) -> None:
        self.renderer = renderer
        self.net = net.eval()
        self.net_config = net_config or ScoreNetConfig()
        self.run = run or LearnedRunConfig()
        self._batcher = AdaptiveBatcher(self.run.batch_size)
        self._meshes = MeshCache()

    def score(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor) -> torch.Tensor:
        """(B,) float32 logits for (B, 4, 4) poses of the centred object frame; higher is better."""
        check_poses(T_cam_centered)
        device = observation.depth.device
        self.net.to(device)
        mesh = self._meshes.get(model, device)
        T = T_cam_centered.to(device=device, dtype=torch.float32)
        if T.shape[0] == 0:
            return torch.zeros(0, device=device)

        def embed(a: int, b: int) -> torch.Tensor:
            A, B = make_pairs(self.renderer, mesh, observation, T[a:b], model.diameter, self.net_config.crop_ratio,
                              SCORER_MIN_Z_M, crop_size(self.net_config))
            with inference_context(device, self.run.amp):
                return self.net.embed(A, B).float()

        features = torch.cat(self._batcher.map(T.shape[0], embed))
        with inference_context(device, self.run.amp):
            return self.net.rank(features).float()
