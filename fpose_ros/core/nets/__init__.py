"""FoundationPose-compatible networks: the pose refiner, the hypothesis scorer, their checkpoints and decoding.

Module and parameter names match FoundationPose's released checkpoints key for key, so official weights
(which users download themselves; non-commercial licence) load strictly. Nothing here imports
FoundationPose or nvdiffrast.
"""

from fpose_ros.core.nets.checkpoint import build_net, load_refine_net, load_score_net, save_checkpoint
from fpose_ros.core.nets.config import RefineNetConfig, ScoreNetConfig
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.nets.score_net import ScoreNet

__all__ = [
    "RefineNet",
    "RefineNetConfig",
    "ScoreNet",
    "ScoreNetConfig",
    "build_net",
    "load_refine_net",
    "load_score_net",
    "save_checkpoint",
]
