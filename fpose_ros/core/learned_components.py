"""Build the learned refiner and scorer from checkpoint directories, for the engine and the node."""

from __future__ import annotations

from pathlib import Path

import torch

from fpose_ros.core.nets.checkpoint import load_refine_net, load_score_net
from fpose_ros.core.refinement.learned import LearnedRefiner, LearnedRunConfig
from fpose_ros.core.rendering.base import Renderer
from fpose_ros.core.scoring.learned import LearnedScorer


def make_learned_components(
    renderer: Renderer,
    refiner_dir: str | Path,
    scorer_dir: str | Path,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
) -> tuple[LearnedRefiner, LearnedScorer]:
    """Load both checkpoint directories (``model_best.pth`` + ``config.yml``) and wrap them.

    Args:
        renderer: draws the crops; must run on ``device``.
        refiner_dir: refiner checkpoint (official: ``2023-10-28-18-33-37``).
        scorer_dir: scorer checkpoint (official: ``2024-01-11-20-02-45``).
        device: where the networks run; CUDA uses float16 autocast.
        batch_size: largest number of pairs per network call (halved automatically when memory runs out).

    Raises:
        ConfigError: a missing, unreadable or mismatching checkpoint (the message names the keys), or a bad
            batch size.
    """
    run = LearnedRunConfig(batch_size=batch_size)
    refine_net, refine_config = load_refine_net(refiner_dir, device)
    score_net, score_config = load_score_net(scorer_dir, device)
    return (LearnedRefiner(renderer, refine_net, refine_config, run),
            LearnedScorer(renderer, score_net, score_config, run))
