"""Tracking state machine: registering -> tracking -> lost -> registering, with loss detection.

FoundationPose's demo tracks forever once registered and never notices that the object has gone.
:class:`ObjectTracker` checks every tracked pose against :class:`LossCriteria` (score, visible
fraction, and a pose jump per frame that no real motion makes). A frame that fails reports no pose,
so a pose is never published while the object is not confirmed; after ``max_failed_frames``
consecutive failures the object is LOST, and the next frame with a mask re-registers it.

States (``PoseResult.mode``):

* REGISTERING: no pose yet; a frame with a mask runs registration, success -> TRACKING.
* TRACKING: each frame refines the last good pose; failures -> no pose that frame, and LOST after
  ``max_failed_frames`` in a row.
* LOST: no pose until a frame comes with a mask; a failed registration attempt -> REGISTERING.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.spatial.transform import Rotation

from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.validated_config import param, validate


@dataclass(frozen=True)
class LossCriteria:
    """When a tracked (or freshly registered) pose is not trusted (each field's meaning and range: its ``param``)."""

    min_score: float = param(0.35, "A pose scoring below this is not trusted (geometric score).", range=(0, 1))
    min_visible_fraction: float = param(
        0.15, "A pose whose rendered pixels are confirmed by observed depth less than this fraction is not trusted "
              "(the object left the view or is almost fully hidden).", range=(0, 1))
    max_translation_jump_m: float = param(
        0.15, "A tracked pose moving more than this from the previous frame is not trusted, metres.",
        range=(0, None), low_open=True, unit="metres")
    max_rotation_jump_deg: float = param(
        60.0, "A tracked pose turning more than this from the previous frame is not trusted, degrees.",
        range=(0, 180), low_open=True, unit="degrees")
    max_failed_frames: int = param(
        2, "Consecutive untrusted frames after which the object is LOST (1 = at the first).", range=(1, 100))

    def __post_init__(self) -> None:
        validate(self)

    def failure(self, result: PoseResult, previous: PoseResult | None) -> str | None:
        """Why ``result`` is not trusted, or None when it passes.

        Args:
            result: a result with a pose.
            previous: the last trusted result, for the jump criteria (None at registration).
        """
        if result.T_cam_centered is None:
            return result.reason or "no pose"
        if not result.score >= self.min_score:
            return f"score {result.score:.2f} < min_score {self.min_score}"
        if not result.visible_fraction >= self.min_visible_fraction:
            return f"visible fraction {result.visible_fraction:.2f} < min_visible_fraction {self.min_visible_fraction}"
        if previous is None or previous.T_cam_centered is None:
            return None
        translation, rotation_deg = pose_jump(previous.T_cam_centered, result.T_cam_centered)
        if translation > self.max_translation_jump_m:
            return f"pose jumped {translation:.3f} m > max_translation_jump_m {self.max_translation_jump_m}"
        if rotation_deg > self.max_rotation_jump_deg:
            return f"pose turned {rotation_deg:.1f} deg > max_rotation_jump_deg {self.max_rotation_jump_deg}"
        return None


def pose_jump(T_a: np.ndarray, T_b: np.ndarray) -> tuple[float, float]:
    """Translation distance (metres) and rotation angle (degrees) between two (4, 4) poses."""
    translation = float(np.linalg.norm(T_b[:3, 3] - T_a[:3, 3]))
    cos = 0.5 * (np.trace(T_a[:3, :3].T @ T_b[:3, :3]) - 1.0)
    return translation, math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def predict_pose(T_a: np.ndarray, t_a: float, T_b: np.ndarray, t_b: float, t: float,
                 max_gap_s: float = 0.2) -> np.ndarray:
    """Constant-velocity prediction of the pose at time ``t`` from poses at ``t_a`` < ``t_b`` (seconds).

    The object's centre moves on a straight line and its orientation turns about that centre at a
    constant rate (hand-held motion turns objects about themselves, not about the camera). With a
    gap longer than ``max_gap_s``, stamps out of order, or ``t`` not after ``t_b``, returns ``T_b``.

    Args:
        T_a, T_b: (4, 4) poses of the centred object frame in the camera frame.

    Returns:
        (4, 4) float64 predicted pose.
    """
    dt_ab, dt = t_b - t_a, t - t_b
    if not (0 < dt_ab <= max_gap_s and 0 < dt <= max_gap_s):
        return T_b
    alpha = dt / dt_ab
    out = np.array(T_b, dtype=np.float64, copy=True)
    out[:3, 3] = T_b[:3, 3] + alpha * (T_b[:3, 3] - T_a[:3, 3])
    turn = Rotation.from_matrix(T_b[:3, :3] @ T_a[:3, :3].T).as_rotvec() * alpha
    out[:3, :3] = Rotation.from_rotvec(turn).as_matrix() @ T_b[:3, :3]
    return out


class Estimator(Protocol):
    """What the tracker needs from :class:`~fpose_ros.core.estimator.PoseEstimator`."""

    def register(self, frame: RGBDFrame, mask: np.ndarray) -> PoseResult:
        """Find the object in ``frame`` inside ``mask`` (no prior pose)."""

    def track(self, frame: RGBDFrame, previous: PoseResult) -> PoseResult:
        """Follow the object from ``previous`` into ``frame``."""


class ObjectTracker:
    """Drives one estimator through registering, tracking and lost states (see the module docstring)."""

    def __init__(self, estimator: Estimator, criteria: LossCriteria | None = None) -> None:
        self.estimator = estimator
        self.criteria = criteria or LossCriteria()
        self.mode = TrackingMode.REGISTERING
        self._last_good: PoseResult | None = None
        self._before_last: PoseResult | None = None
        self._failures = 0

    def reset(self) -> None:
        """Forget the object: the next frame with a mask registers it afresh."""
        self.mode = TrackingMode.REGISTERING
        self._last_good = None
        self._before_last = None
        self._failures = 0

    def process(self, frame: RGBDFrame, mask: np.ndarray | None = None) -> PoseResult:
        """Advance the state machine by one frame.

        Args:
            frame: the RGB-D frame.
            mask: (H, W) detector mask (nonzero = object) or None; used only when not tracking.

        Returns:
            The frame's result; ``mode`` is the state after this frame, and there is a pose only when
            it passed the loss criteria.
        """
        if self.mode is TrackingMode.TRACKING:
            return self._track(frame)
        if mask is None:
            why = ("object lost; waiting for a mask to re-register" if self.mode is TrackingMode.LOST
                   else "waiting for a mask to register the object")
            return _without_pose(frame, self.mode, why)
        return self._register(frame, mask)

    def _register(self, frame: RGBDFrame, mask: np.ndarray) -> PoseResult:
        result = self.estimator.register(frame, mask)
        failure = self.criteria.failure(result, None)
        if failure is not None:
            self.mode = TrackingMode.REGISTERING
            return _rejected(result, self.mode, f"registration failed: {failure}")
        self.mode = TrackingMode.TRACKING
        self._last_good, self._failures = result, 0
        return dataclasses.replace(result, mode=self.mode)

    def _track(self, frame: RGBDFrame) -> PoseResult:
        assert self._last_good is not None  # TRACKING always has a last good pose
        start = self._last_good
        before = self._before_last
        # Both kept results carry poses (only results with a pose are kept); the checks say so to the type checker.
        if (before is not None and self._failures == 0 and before.T_cam_centered is not None
                and start.T_cam_centered is not None):
            predicted = predict_pose(before.T_cam_centered, before.stamp_s, start.T_cam_centered, start.stamp_s,
                                     frame.stamp_s)
            start = dataclasses.replace(self._last_good, T_cam_centered=predicted)
        result = self.estimator.track(frame, start)
        failure = self.criteria.failure(result, self._last_good)
        if failure is None:
            self._before_last, self._last_good, self._failures = self._last_good, result, 0
            return dataclasses.replace(result, mode=self.mode)
        self._failures += 1
        if self._failures >= self.criteria.max_failed_frames:
            self.reset()
            self.mode = TrackingMode.LOST
            return _rejected(result, self.mode, f"object lost: {failure}")
        # Keep tracking from the last trusted pose, but do not report an unconfirmed one.
        return _rejected(result, self.mode, f"pose not confirmed ({self._failures}/"
                                            f"{self.criteria.max_failed_frames}): {failure}")


def _rejected(result: PoseResult, mode: TrackingMode, reason: str) -> PoseResult:
    """``result`` without its pose; the reason carries the rejected pose's numbers."""
    return dataclasses.replace(result, T_cam_obj=None, T_cam_centered=None, score=0.0, visible_fraction=0.0,
                               mode=mode, reason=reason)


def _without_pose(frame: RGBDFrame, mode: TrackingMode, reason: str) -> PoseResult:
    return PoseResult(T_cam_obj=None, T_cam_centered=None, score=0.0, mode=mode, stamp_s=frame.stamp_s, reason=reason)
