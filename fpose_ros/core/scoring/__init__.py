"""Scorers: rank refined pose hypotheses.

A scorer satisfies :class:`Scorer` (or :class:`DetailedScorer`, which also reports why it trusts a pose).
"""

from fpose_ros.core.scoring.base import DetailedScorer, Scorer
from fpose_ros.core.scoring.geometric import GeometricScorer, GeometricScorerConfig, ScoreDetails
from fpose_ros.core.scoring.learned import LearnedScorer

__all__ = ["DetailedScorer", "GeometricScorer", "GeometricScorerConfig", "LearnedScorer", "ScoreDetails", "Scorer"]
