"""Refiners: improve a batch of pose hypotheses by render-and-compare.

A refiner satisfies :class:`Refiner` (or :class:`SurfaceSharingRefiner`, which can reuse a rendered surface).
"""

from fpose_ros.core.refinement.base import Refiner, SurfaceSharingRefiner
from fpose_ros.core.refinement.geometric import GeometricRefiner, GeometricRefinerConfig
from fpose_ros.core.refinement.learned import LearnedRefiner

__all__ = ["GeometricRefiner", "GeometricRefinerConfig", "LearnedRefiner", "Refiner", "SurfaceSharingRefiner"]
