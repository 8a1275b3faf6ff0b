"""The refiner interface: the geometric and the learned refiner both implement it."""

from __future__ import annotations

from typing import Protocol

import torch

from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation


class Refiner(Protocol):
    """Refines poses of the centred object frame against one observation."""

    def refine(
        self, model: ObjectModel, observation: Observation, T_cam_obj: torch.Tensor, iterations: int
    ) -> torch.Tensor:
        """Return (B, 4, 4) float32 refined poses for (B, 4, 4) input poses.

        Each iteration re-renders at the current pose on a pose-conditioned crop.
        """
        ...
