"""The refiner interface: the geometric and the learned refiner both implement it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.rendering.visible_surface import VisibleSurface


class Refiner(Protocol):
    """Refines poses of the centred object frame against one observation."""

    def refine(
        self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor, iterations: int
    ) -> torch.Tensor:
        """Return (B, 4, 4) float32 refined poses for (B, 4, 4) input poses.

        Each iteration re-renders at the current pose on a pose-conditioned crop.
        """
        ...


@runtime_checkable
class SurfaceSharingRefiner(Refiner, Protocol):
    """A refiner that can start from a kept rendering and hands back the one it ended on.

    The engine's tracking uses it to skip rendering while the view hardly changes
    (:mod:`~fpose_ros.core.surface_keyframe`) and to score on the same surface.
    """

    def refine_with_surface(
        self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor, iterations: int,
        surface: VisibleSurface | None = None,
    ) -> tuple[torch.Tensor, VisibleSurface | None]:
        """Like :meth:`Refiner.refine` for one pose, starting on ``surface`` when given.

        Returns:
            (1, 4, 4) float32 refined pose and the rendering made (or reused) at the last step
            (None after zero iterations).
        """
        ...
