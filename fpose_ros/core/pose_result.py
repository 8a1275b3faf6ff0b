"""What the engine returns for one frame."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class TrackingMode(enum.Enum):
    """State of one tracked object (the values are what ``TrackingStatus.mode`` carries)."""

    REGISTERING = "registering"
    TRACKING = "tracking"
    OCCLUDED = "occluded"
    LOST = "lost"


@dataclass(frozen=True)
class StageTimings:
    """Wall-clock milliseconds spent in each stage of one call."""

    preprocess_ms: float = 0.0
    hypotheses_ms: float = 0.0
    refine_ms: float = 0.0
    score_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class PoseResult:
    """The engine's answer for one frame.

    Attributes:
        T_cam_obj: (4, 4) float64 pose of the mesh file's own frame in the camera optical
            frame (metres), or None when there is no trustworthy pose.
        T_cam_centered: (4, 4) float64 pose of the centred frame (what ``track`` continues from), or None.
        score: the scorer's value for the returned pose (geometric: in [0, 1]); 0 without a pose.
        mode: the tracking state after this frame.
        stamp_s: the frame's stamp.
        n_hypotheses: how many hypotheses were refined (1 when tracking).
        visible_fraction: fraction of the rendered object's pixels confirmed by observed depth.
        occluded_fraction: fraction of the rendered object's pixels where the observed surface is in front of
            the rendered one (something hides the object there).
        reason: why there is no pose (empty when there is one).
        timings: per-stage wall-clock times.
    """

    T_cam_obj: np.ndarray | None
    T_cam_centered: np.ndarray | None
    score: float
    mode: TrackingMode
    stamp_s: float = 0.0
    n_hypotheses: int = 0
    visible_fraction: float = 0.0
    occluded_fraction: float = 0.0
    reason: str = ""
    timings: StageTimings = field(default_factory=StageTimings)

    @property
    def has_pose(self) -> bool:
        """True when the result carries a pose (it is trusted)."""
        return self.T_cam_obj is not None
