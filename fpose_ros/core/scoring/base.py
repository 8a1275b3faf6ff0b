"""The scorer interface: the geometric and the learned scorer both implement it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch

from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation

if TYPE_CHECKING:
    from fpose_ros.core.scoring.geometric import ScoreDetails


class Scorer(Protocol):
    """Scores poses of the centred object frame against one observation."""

    def score(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor) -> torch.Tensor:
        """Return (B,) float32 scores for (B, 4, 4) poses; higher is better.

        Geometric scorers return values in [0, 1] comparable across frames (used for loss
        detection); learned scorers return logits, comparable within one call only.
        """
        ...


@runtime_checkable
class DetailedScorer(Scorer, Protocol):
    """A scorer whose scores are on the engine's trust scale, with the visible fraction beside them.

    The engine ranks the final hypotheses with it and trusts the winner's score as is, without
    scoring it again with its geometric trust scorer.
    """

    def details(self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor) -> ScoreDetails:
        """Scores in [0, 1] and visible fractions of (B, 4, 4) float32 poses."""
        ...
