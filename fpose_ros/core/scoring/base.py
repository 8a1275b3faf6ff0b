"""The scorer interface: the geometric and the learned scorer both implement it."""

from __future__ import annotations

from typing import Protocol

import torch

from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation


class Scorer(Protocol):
    """Scores poses of the centred object frame against one observation."""

    def score(self, model: ObjectModel, observation: Observation, T_cam_obj: torch.Tensor) -> torch.Tensor:
        """Return (B,) float32 scores for (B, 4, 4) poses; higher is better.

        Geometric scorers return values in [0, 1] comparable across frames (used for loss
        detection); learned scorers return logits, comparable within one call only.
        """
        ...
