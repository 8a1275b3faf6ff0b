"""Tracking state machine: registering -> tracking (<-> occluded) -> lost -> registering, with loss detection.

FoundationPose's demo tracks forever once registered and never notices that the object has gone.
:class:`ObjectTracker` checks every tracked pose against :class:`LossCriteria` (score, visible
fraction, and a pose jump per frame that no real motion makes). A frame that fails reports no pose,
so a pose is never published while the object is not confirmed. A failure with something in front
of the object (observed depth in front of the tracked surface on ``min_occluded_fraction`` of it)
is an occlusion, not a loss: the last trusted pose is held and tracking resumes from it, without a
mask, as soon as enough of the object shows again. Other failures lose the object after
``max_failed_frames`` in a row; the next frame with a mask re-registers it.

States (``PoseResult.mode``):

* REGISTERING: no pose yet; a frame with a mask runs registration, success -> TRACKING.
* TRACKING: each frame refines the last good pose, moved on at the last two poses' velocity; an occluded
  failure -> OCCLUDED, other failures -> no pose that frame, and LOST after ``max_failed_frames`` in a
  row. A failed frame is first tracked again: from the last good pose itself where the velocity's start
  failed (the motion changed), and, before the first velocity estimate (right after a registration
  without a second mask), from starts ``retry_offset_m`` around the pose (the object moved an unknown
  few cm).
* OCCLUDED: no pose; each frame refines the held pose, which resumes TRACKING once it passes the
  criteria. A frame with a mask whose resumption fails registers on the mask (the object moved
  while hidden and is seen elsewhere). LOST after ``max_failed_frames`` failures in a row without
  occlusion evidence, or ``occlusion_timeout_s`` after the last trusted pose.
* LOST: no pose until a frame comes with a mask; a failed registration attempt -> REGISTERING.

Declared symmetries (``ObjectModel.symmetries``): a turn to an equivalent pose is no jump, and the
published pose is, of the equivalent ones, the nearest the previously published pose (after a
registration, the last one published if at most ``SYMMETRY_MEMORY_S`` old, else the one nearest the
camera's axes), so it does not flip between equivalent poses from frame to frame.

Once the object has been published, a mask touching the image border registers only when the mask
before it did too (``border_mask_pair_s``): an object coming back into view is mid-swing (as it
left), and a pose registered on its first mask is out of the tracking window by the next frame. Before
the first pose (start-up), a border-cut mask registers at once: nothing says the object moves, and
waiting for a second mask delays the first pose by a mask period (0.33 s at 3 Hz).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.hypotheses import initial_translation
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.shape_symmetry import RevolutionAxis
from fpose_ros.core.symmetry import closest_equivalent, without_turn
from fpose_ros.core.validated_config import param, validate

#: After a registration, the published pose is the equivalent one nearest the last published pose when that is
#: at most this old, seconds (the object is likely where it was: no flip); older, the canonical one.
SYMMETRY_MEMORY_S = 2.0


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
    # A bar 30 cm in front of a box covers all of it; the object leaving the view or turning away
    # shows free space behind the surface instead, and a pose slipping off the object's edge a few
    # per cent of background in front of it.
    min_occluded_fraction: float = param(
        0.4, "An untrusted pose whose rendered pixels see observed depth in front of them on at least this "
             "fraction is OCCLUDED (held, resumed without a mask) rather than failing towards LOST.", range=(0, 1),
        low_open=True)
    occlusion_timeout_s: float = param(
        2.0, "Longest the object stays OCCLUDED after its last trusted pose before it is LOST (by frame stamps), "
             "seconds.", range=(0, None), low_open=True, unit="s")
    # An object coming back into view is usually mid-swing: registered on its first, border-cut mask, it has
    # moved out of the tracking window by the next frame and is lost again (indep_sugar_exit_and_return:
    # registered at its return, lost 2 frames later, registered again on the next mask). Not before the
    # first pose: indep_bottle_fly60 starts with its cap out of view, and waiting cost 0.33 s at 3 Hz.
    border_mask_pair_s: float = param(
        0.5, "Once the object has had a pose, a mask touching the image border (the object coming back into or "
             "leaving the view) is registered on only when the mask before it, at most this many seconds earlier, "
             "touched the border too (the object stays there); a mask clear of the border, or any mask before "
             "the first pose, registers at once. 0: every mask registers.",
        range=(0, None), unit="s")
    # The refiner's reach from a wrong start is a fraction of the object (its first inlier distance): a
    # fast object's first frame after a registration is a few cm away (proc3_fast: 2 cm per frame; from
    # the true pose of frame k into frame k+1, 25 of 89 frames fail from that pose, none with these starts).
    retry_offset_m: float = param(
        0.02, "A tracked frame without a velocity estimate yet (right after a registration with no second mask "
              "to take one from) whose pose fails the criteria is tracked again from the last trusted pose moved "
              "this far either way along each camera axis (6 starts; the best scoring one, tracked once more from "
              "where it ended, is checked like any pose) before it counts as a failure, metres; 0 = no retry.",
        range=(0, None), unit="metres")

    def __post_init__(self) -> None:
        validate(self)

    def failure(self, result: PoseResult, previous: PoseResult | None,
                free_axis: np.ndarray | None = None, symmetries: np.ndarray | None = None) -> str | None:
        """Why ``result`` is not trusted, or None when it passes.

        Args:
            result: a result with a pose.
            previous: the last trusted result, for the jump criteria (None at registration).
            free_axis: (3,) unit axis of revolution of the object's shape (centred frame), or None: a
                turn about it is no jump (the shape cannot show it; the engine chose it by the print).
            symmetries: (S, 4, 4) the object's symmetry transforms (centred frame), or None: a turn to an
                equivalent pose is no jump.
        """
        if result.T_cam_centered is None:
            return result.reason or "no pose"
        if not result.score >= self.min_score:
            return f"score {result.score:.2f} < min_score {self.min_score}"
        if not result.visible_fraction >= self.min_visible_fraction:
            return f"visible fraction {result.visible_fraction:.2f} < min_visible_fraction {self.min_visible_fraction}"
        if previous is None or previous.T_cam_centered is None:
            return None
        translation, rotation_deg = pose_jump(previous.T_cam_centered, result.T_cam_centered, free_axis, symmetries)
        if translation > self.max_translation_jump_m:
            return f"pose jumped {translation:.3f} m > max_translation_jump_m {self.max_translation_jump_m}"
        if rotation_deg > self.max_rotation_jump_deg:
            return f"pose turned {rotation_deg:.1f} deg > max_rotation_jump_deg {self.max_rotation_jump_deg}"
        return None

    def occluded(self, result: PoseResult) -> bool:
        """Whether an untrusted ``result`` shows something in front of the object (an occlusion, not a loss)."""
        return result.T_cam_centered is not None and result.occluded_fraction >= self.min_occluded_fraction


def touches_border(mask: np.ndarray, margin_px: int = 2) -> bool:
    """Whether an (H, W) mask (nonzero = object) has a pixel within ``margin_px`` of the image border."""
    m = margin_px
    return bool(mask[:m].any() or mask[-m:].any() or mask[:, :m].any() or mask[:, -m:].any())


def mask_centre(frame: RGBDFrame, mask: np.ndarray) -> np.ndarray | None:
    """Where ``mask`` (H, W, nonzero = object) shows the object on ``frame``: registration's translation guess.

    Returns:
        (3,) float64 camera-frame point, metres, or None when the mask holds too little valid depth.
    """
    depth = torch.from_numpy(np.ascontiguousarray(frame.depth, dtype=np.float32))
    centre = initial_translation(depth, torch.from_numpy(np.asarray(mask) != 0), frame.intrinsics.matrix_tensor())
    return None if centre is None else centre.to(torch.float64).numpy()


def pose_jump(T_a: np.ndarray, T_b: np.ndarray, free_axis: np.ndarray | None = None,
              symmetries: np.ndarray | None = None) -> tuple[float, float]:
    """Translation distance (metres) and rotation angle (degrees) between two (4, 4) poses.

    With a ``free_axis`` (3,) (unit, object frame), turns about it do not count: the angle is the one
    between the axis as each pose holds it (the smallest rotation left after any turn about the axis).
    With ``symmetries`` (S, 4, 4) (object frame), the jump is to the equivalent pose ``T_b @ S`` that
    turns least from ``T_a``. O(S).
    """
    candidates = T_b[None] if symmetries is None else np.einsum("ij,sjk->sik", T_b, symmetries)
    if free_axis is not None:
        cos = (candidates[:, :3, :3] @ free_axis) @ (T_a[:3, :3] @ free_axis)
    else:
        cos = 0.5 * (np.einsum("ij,sij->s", T_a[:3, :3], candidates[:, :3, :3]) - 1.0)
    best = int(np.argmax(cos))
    translation = float(np.linalg.norm(candidates[best, :3, 3] - T_a[:3, 3]))
    return translation, math.degrees(math.acos(float(np.clip(cos[best], -1.0, 1.0))))


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

    def track(self, frame: RGBDFrame, previous: PoseResult, *, behind: bool = False,
              backwards: bool = False) -> PoseResult:
        """Follow the object from ``previous`` into ``frame``.

        ``behind``: newer frames wait (optional work waits); ``backwards``: ``frame`` is older than the last
        frame tracked (tracked back from a registration: nothing it finds is for the next frame).
        """


@runtime_checkable
class KnowsItsObject(Protocol):
    """An estimator that tells its object (``PoseEstimator``): the tracker takes the declared symmetries from it."""

    model: ObjectModel


@runtime_checkable
class TurnsByAppearance(Protocol):
    """An estimator that chooses turns about its object's axis of revolution by appearance (``PoseEstimator``)."""

    spin_axis: RevolutionAxis | None

    def search_turns(self) -> PoseResult | None:
        """The last tracked frame's search over all turns, run after its pose is out: a turn that took over."""


class ObjectTracker:
    """Drives one estimator through registering, tracking and lost states (see the module docstring)."""

    def __init__(self, estimator: Estimator, criteria: LossCriteria | None = None) -> None:
        self.estimator = estimator
        self.criteria = criteria or LossCriteria()
        turns = estimator if isinstance(estimator, TurnsByAppearance) else None
        axis = None if turns is None else turns.spin_axis
        #: The estimator whose tracked frames may leave a search over all turns for after the pose is out.
        self._turns = turns if axis is not None else None
        #: The object (for its declared symmetries), when the estimator tells it.
        self._model = estimator.model if isinstance(estimator, KnowsItsObject) else None
        symmetric = self._model is not None and len(self._model.symmetries) > 1
        #: (S, 4, 4) the declared symmetries, or None (only the identity): equivalent poses are one.
        self._symmetries = self._model.symmetries if symmetric and self._model is not None else None
        #: Turns about this axis (object frame) are no jump and no velocity: the estimator picks them by the
        #: print, or the user declared that any turn about it looks the same.
        self._free_axis = axis.direction if axis is not None else \
            None if self._model is None else self._model.symmetry_axis
        self.mode = TrackingMode.REGISTERING
        self._last_good: PoseResult | None = None
        self._before_last: PoseResult | None = None
        self._failures = 0
        self._border_mask_s: float | None = None  # stamp of the last mask that touched the image border
        # (stamp_s, mask_centre) of the last detector mask seen: with the next registration's, the object's velocity.
        self._mask_seen: tuple[float, np.ndarray] | None = None
        # The last pose reported (kept across losses): a registration's pose is the equivalent nearest it.
        self._published: PoseResult | None = None

    def reset(self) -> None:
        """Forget the object: the next frame with a mask registers it afresh.

        The last mask seen is kept: it shows where the object was, whatever the tracker believed, and
        :func:`predict_pose` ignores it once it is older than its maximum gap.
        """
        self.mode = TrackingMode.REGISTERING
        self._last_good = None
        self._before_last = None
        self._failures = 0
        self._border_mask_s = None

    def process(self, frame: RGBDFrame, mask: np.ndarray | None = None, *, behind: bool = False) -> PoseResult:
        """Advance the state machine by one frame.

        Args:
            frame: the RGB-D frame.
            mask: (H, W) detector mask (nonzero = object) or None; not used while tracking (while
                occluded, only when the held pose does not resume).
            behind: newer frames are waiting (tracking passes it on to the estimator's ``track``).

        Returns:
            The frame's result; ``mode`` is the state after this frame, and there is a pose only when
            it passed the loss criteria.
        """
        if not behind:
            self.run_deferred()  # what the last frame left, where the caller did not run it after publishing
        if self.mode is TrackingMode.TRACKING:
            if mask is not None:
                self.note_mask(frame, mask)
            return self._track(frame, behind)
        if self.mode is TrackingMode.OCCLUDED:
            return self._resume(frame, mask, behind)
        if mask is None:
            why = ("object lost; waiting for a mask to re-register" if self.mode is TrackingMode.LOST
                   else "waiting for a mask to register the object")
            return _without_pose(frame, self.mode, why)
        return self._register(frame, mask)

    def run_deferred(self) -> None:
        """Run what the last tracked frame left for after its pose was out (the estimator's ``search_turns``).

        That is the search over all turns about the axis of revolution. A turn that takes over, and passes
        the loss criteria, becomes the pose the next frame tracks from (the frame's own pose went out
        before). A no-op when nothing is pending; :meth:`process` calls it first for callers that do not
        (a frame tracked ``behind`` drops it instead).
        """
        if self._turns is None:
            return
        found = self._turns.search_turns()
        if found is None or self.mode is not TrackingMode.TRACKING or self._last_good is None:
            return
        if self.criteria.failure(found, self._last_good, self._free_axis, self._symmetries) is None:
            self._last_good = found

    def note_mask(self, frame: RGBDFrame, mask: np.ndarray) -> None:
        """Remember where a detector ``mask`` shows the object on ``frame``, a frame the tracker does not process.

        With the mask of the next registration (the frame before it or after it), it tells the velocity
        the first tracked frame after that registration starts with.
        """
        centre = mask_centre(frame, mask)
        self._mask_seen = None if centre is None else (frame.stamp_s, centre)

    def _register(self, frame: RGBDFrame, mask: np.ndarray) -> PoseResult:
        other = self._mask_seen
        self.note_mask(frame, mask)
        centre = None if self._mask_seen is None else self._mask_seen[1]
        if self.criteria.border_mask_pair_s > 0 and self._published is not None and touches_border(mask):
            previous, self._border_mask_s = self._border_mask_s, frame.stamp_s
            if previous is None or not 0 < frame.stamp_s - previous <= self.criteria.border_mask_pair_s:
                return _without_pose(frame, self.mode, "the mask touches the image border (the object is coming "
                                                       "into or leaving the view): registering on a later mask")
        else:
            self._border_mask_s = None
        result = self.estimator.register(frame, mask)
        failure = self.criteria.failure(result, None)
        if failure is not None:
            self.mode = TrackingMode.REGISTERING
            return _rejected(result, self.mode, f"registration failed: {failure}")
        self.mode = TrackingMode.TRACKING
        # No velocity across a registration from poses (the pose before it may be from before a loss or an
        # occlusion), but from the masks: the refinement does not follow a fast object's first frame from
        # where it was registered (proc3_fast: 2 cm per frame, lost right after 7 of 26 registrations
        # without, 1 with the masks' velocity).
        self._last_good, self._before_last, self._failures = result, _velocity_seed(result, other, centre), 0
        return dataclasses.replace(self._publish(result, self._recently_published(frame.stamp_s)), mode=self.mode)

    def track_back(self, frames: Sequence[RGBDFrame], registered: PoseResult) -> list[PoseResult]:
        """Poses for frames before a registration, tracked backwards in time from its pose.

        A registration on the mask of frame k leaves the frames before it, back to where the object came into
        view (or where the detector's first mask was late), without a pose. Tracking runs the same refinement
        and loss criteria from frame k to k-1, k-2, ...; it stops at the first frame that fails (that frame and
        those before it get none). The tracker's own state (mode, last poses) is not touched.

        Args:
            frames: the frames before the registered one, newest first (stamps descending).
            registered: the registration's result, with its pose.

        Returns:
            One trusted result (mode TRACKING) per frame from the newest on, as many as passed.
        """
        out: list[PoseResult] = []
        later, latest = registered, None  # the pose after the next frame's in time, and the one after that
        for frame in frames:
            # Backwards in time: the stamps negated, so the constant-velocity prediction runs the other way.
            start = later if latest is None else self._predicted(latest, later, frame.stamp_s, backwards=True)
            result = self.estimator.track(frame, start, behind=True, backwards=True)  # the newer frames wait
            if self.criteria.failure(result, later, self._free_axis, self._symmetries) is not None:
                break
            # Tracked on from the engine's own pose; published as the equivalent nearest the one after it.
            published = self._equivalent_nearest(result, out[-1] if out else registered)
            out.append(dataclasses.replace(published, mode=TrackingMode.TRACKING))
            later, latest = result, self._equivalent_nearest(later, result)  # a flip is no velocity
        return out

    def _predicted(self, before: PoseResult, last: PoseResult, stamp_s: float, backwards: bool = False) -> PoseResult:
        """``last`` moved on to ``stamp_s`` at the velocity from ``before`` to it (see :func:`predict_pose`).

        ``backwards``: time runs the other way (``before`` is later than ``last``, ``stamp_s`` earlier).
        """
        # Both results carry poses (only results with a pose are kept); the check says so to the type checker.
        if before.T_cam_centered is None or last.T_cam_centered is None:
            return last
        sign = -1.0 if backwards else 1.0
        predicted = predict_pose(before.T_cam_centered, sign * before.stamp_s, last.T_cam_centered,
                                 sign * last.stamp_s, sign * stamp_s)
        if predicted is last.T_cam_centered:
            return last  # no velocity over that gap: the start is the pose itself
        if self._free_axis is not None:
            # The estimator picks the turn about the free axis by the print every frame; extrapolating
            # its corrections as a velocity would run away from the print.
            predicted[:3, :3] = without_turn(last.T_cam_centered[:3, :3], predicted[:3, :3], self._free_axis)
        return dataclasses.replace(last, T_cam_centered=predicted)

    def _track(self, frame: RGBDFrame, behind: bool) -> PoseResult:
        assert self._last_good is not None  # TRACKING always has a last good pose
        started = time.perf_counter()
        start = self._last_good
        before = self._before_last
        if before is not None and self._failures == 0:
            start = self._predicted(before, start, frame.stamp_s)
        result = self.estimator.track(frame, start, behind=behind)
        failure = self.criteria.failure(result, self._last_good, self._free_axis, self._symmetries)
        if failure is not None and start is not self._last_good and not self.criteria.occluded(result):
            # The velocity may be wrong where the motion changed (right after a registration it comes from the
            # masks: indep_sugar_exit_and_return's box swings back into view and stops, and the masks' velocity
            # carried its first tracked frame 13 cm past it): the last trusted pose itself, before giving up.
            # Not where something hides the object: that is an occlusion whatever the start.
            still = self.estimator.track(frame, self._last_good, behind=behind)
            if self.criteria.failure(still, self._last_good, self._free_axis, self._symmetries) is None:
                return self._trusted(_timed_since(still, started))
        if failure is None:
            return self._trusted(result)
        if before is None and self.criteria.retry_offset_m > 0:
            retried = self._retry_around(frame, start, behind)
            if self.criteria.failure(retried, self._last_good, self._free_axis, self._symmetries) is None:
                return self._trusted(_timed_since(retried, started))
        if self.criteria.occluded(result):
            self.mode, self._failures = TrackingMode.OCCLUDED, 0
            return _rejected(result, self.mode, f"object occluded; holding its last pose: {failure}")
        return self._failed(result, failure)

    def _retry_around(self, frame: RGBDFrame, start: PoseResult, behind: bool) -> PoseResult:
        """The best scoring of the tracks from ``start`` moved ``retry_offset_m`` either way along each camera axis.

        Only where no velocity tells which way the object went: the cost (6 tracked frames) is paid on
        a frame that would otherwise fail, and whatever wins still has to pass the criteria.
        """
        assert start.T_cam_centered is not None  # the caller tracks from a kept result, which has a pose
        best: PoseResult | None = None
        for offset in np.vstack([np.eye(3), -np.eye(3)]) * self.criteria.retry_offset_m:
            T = np.array(start.T_cam_centered, dtype=np.float64, copy=True)
            T[:3, 3] += offset
            result = self.estimator.track(frame, dataclasses.replace(start, T_cam_centered=T), behind=behind)
            if result.T_cam_centered is not None and (best is None or result.score > best.score):
                best = result
        if best is None:
            return _without_pose(frame, self.mode, "no retry gave a pose")
        # One tracked frame from a start a few cm off ends near the object, not on it (proc3_fast: 3.5 mm
        # off, score 0.36); a second pass from there settles it, and the next frame's velocity with it.
        again = self.estimator.track(frame, best, behind=behind)
        return again if again.T_cam_centered is not None and again.score > best.score else best

    def _resume(self, frame: RGBDFrame, mask: np.ndarray | None, behind: bool) -> PoseResult:
        """OCCLUDED: refine the held pose (no motion is extrapolated across the occlusion)."""
        assert self._last_good is not None  # OCCLUDED always holds a last good pose
        hidden_s = frame.stamp_s - self._last_good.stamp_s
        if hidden_s > self.criteria.occlusion_timeout_s:
            why = f"occluded for {hidden_s:.2f} s > occlusion_timeout_s {self.criteria.occlusion_timeout_s}"
            return self._lose(_without_pose(frame, self.mode, ""), why)
        result = self.estimator.track(frame, self._last_good, behind=behind)
        failure = self.criteria.failure(result, self._last_good, self._free_axis, self._symmetries)
        if failure is None:
            return self._trusted(result)  # the next frame's prediction spans the occlusion (predict_pose's max gap)
        if self.criteria.occluded(result):
            # A mask now shows the part in view: too little to register on, and the held pose is where it is.
            self._failures = 0
            return _rejected(result, self.mode, f"object occluded for {hidden_s:.2f} s; holding its last pose: "
                                                f"{failure}")
        if mask is not None:
            return self._register(frame, mask)  # nothing in front of the held pose: the object moved while hidden
        return self._failed(result, failure)

    def _trusted(self, result: PoseResult) -> PoseResult:
        self.mode = TrackingMode.TRACKING
        # The pose before, as the equivalent nearest this one: a flip to an equivalent pose is no velocity.
        before = None if self._last_good is None else self._equivalent_nearest(self._last_good, result)
        self._before_last, self._last_good, self._failures = before, result, 0
        return dataclasses.replace(self._publish(result, self._published), mode=self.mode)

    def _recently_published(self, stamp_s: float) -> PoseResult | None:
        """The last published result if at most ``SYMMETRY_MEMORY_S`` before ``stamp_s``, else None."""
        published = self._published
        if published is None or not 0 <= stamp_s - published.stamp_s <= SYMMETRY_MEMORY_S:
            return None
        return published

    def _publish(self, result: PoseResult, reference: PoseResult | None) -> PoseResult:
        """The trusted ``result`` as published (:meth:`_equivalent_nearest` ``reference``), remembered as such.

        The tracker goes on from the engine's own pose: the print of a partly symmetric object still fits it.
        """
        self._published = self._equivalent_nearest(result, reference)
        return self._published

    def _equivalent_nearest(self, result: PoseResult, reference: PoseResult | None) -> PoseResult:
        """``result`` with, of the poses equivalent to its own, the one nearest ``reference``'s.

        Without a reference, the one nearest the camera's axes (identity rotation): the same canonical
        choice whichever equivalent pose the engine found. Unchanged without symmetries.
        """
        if self._symmetries is None or self._model is None or result.T_cam_centered is None:
            return result
        T_ref = np.eye(4) if reference is None or reference.T_cam_centered is None else reference.T_cam_centered
        T = closest_equivalent(T_ref, result.T_cam_centered, self._symmetries, self._model.symmetry_axis)
        return dataclasses.replace(result, T_cam_centered=T, T_cam_obj=self._model.pose_for_mesh_origin(T))

    def _failed(self, result: PoseResult, failure: str) -> PoseResult:
        """An untrusted pose without occlusion evidence: LOST after ``max_failed_frames`` of them in a row."""
        self._failures += 1
        if self._failures >= self.criteria.max_failed_frames:
            return self._lose(result, failure)
        # Keep tracking from the last trusted pose, but do not report an unconfirmed one.
        return _rejected(result, self.mode, f"pose not confirmed ({self._failures}/"
                                            f"{self.criteria.max_failed_frames}): {failure}")

    def _lose(self, result: PoseResult, failure: str) -> PoseResult:
        self.reset()
        self.mode = TrackingMode.LOST
        return _rejected(result, self.mode, f"object lost: {failure}")


def _velocity_seed(result: PoseResult, other: tuple[float, np.ndarray] | None,
                   centre: np.ndarray | None) -> PoseResult | None:
    """A pose before the registered ``result`` that moves as the masks' centre did, or None.

    ``other``: (stamp_s, centre) of another frame's mask, before or after the registered one; ``centre``:
    the registered frame's mask centre. The seed is ``result`` as far before it as the other mask is away,
    shifted back by the centre's motion over that time (no rotation), so :func:`predict_pose` starts the
    next frame at that velocity (and ignores it beyond its maximum gap).
    """
    if other is None or centre is None or result.T_cam_centered is None or other[0] == result.stamp_s:
        return None
    gap_s = other[0] - result.stamp_s
    T = np.array(result.T_cam_centered, dtype=np.float64, copy=True)
    T[:3, 3] -= (other[1] - centre) * math.copysign(1.0, gap_s)
    return dataclasses.replace(result, T_cam_centered=T, stamp_s=result.stamp_s - abs(gap_s))


def _timed_since(result: PoseResult, started: float) -> PoseResult:
    """``result`` with its total time counted from ``started`` (``time.perf_counter()``).

    A retried frame cost all its tracks, not only the one that passed.
    """
    total_ms = (time.perf_counter() - started) * 1e3
    return dataclasses.replace(result, timings=dataclasses.replace(result.timings, total_ms=total_ms))


def _rejected(result: PoseResult, mode: TrackingMode, reason: str) -> PoseResult:
    """``result`` without its pose; the reason carries the rejected pose's numbers."""
    return dataclasses.replace(result, T_cam_obj=None, T_cam_centered=None, score=0.0, visible_fraction=0.0,
                               occluded_fraction=0.0, mode=mode, reason=reason)


def _without_pose(frame: RGBDFrame, mode: TrackingMode, reason: str) -> PoseResult:
    return PoseResult(T_cam_obj=None, T_cam_centered=None, score=0.0, mode=mode, stamp_s=frame.stamp_s, reason=reason)
