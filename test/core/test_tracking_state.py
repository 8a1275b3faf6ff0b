"""ObjectTracker's decisions, driven by a scripted estimator."""

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import trimesh
from geometry_helpers import pose_matrix

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel, object_model_from_trimesh
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.shape_symmetry import RevolutionAxis
from fpose_ros.core.symmetry import parse_symmetry
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker, pose_jump, touches_border

CAMERA = CameraIntrinsics(fx=50.0, fy=50.0, cx=7.5, cy=5.5, width=16, height=12)
FRAME = RGBDFrame(np.zeros((12, 16, 3), np.uint8), np.full((12, 16), 0.5, np.float32), CAMERA, stamp_s=3.0)
MASK = np.zeros((12, 16), np.uint8)
MASK[3:9, 4:12] = 1  # clear of the image border
BORDER_MASK = np.zeros((12, 16), np.uint8)
BORDER_MASK[3:9, 12:] = 1  # cut by the right border: the object is partly out of view


def pose(x: float = 0.0, yaw_deg: float = 0.0) -> np.ndarray:
    """The object 0.5 m in front of the camera, ``x`` to the side, turned ``yaw_deg`` about the optical axis."""
    return pose_matrix([0.0, 0.0, math.radians(yaw_deg)], [x, 0.0, 0.5])


def good(x: float = 0.0, yaw_deg: float = 0.0, score: float = 0.9, visible: float = 0.8, occluded: float = 0.0,
         stamp_s: float = FRAME.stamp_s) -> PoseResult:
    T = pose(x, yaw_deg)
    return PoseResult(T_cam_obj=T, T_cam_centered=T, score=score, mode=TrackingMode.TRACKING, stamp_s=stamp_s,
                      visible_fraction=visible, occluded_fraction=occluded)


def hidden(x: float = 0.0, visible: float = 0.05, occluded: float = 0.9) -> PoseResult:
    """A tracked pose that fails because something in front hides the object."""
    return good(x, visible=visible, occluded=occluded, score=0.1)


def frame_at(stamp_s: float) -> RGBDFrame:
    return RGBDFrame(FRAME.rgb, FRAME.depth, CAMERA, stamp_s=stamp_s)


def none(reason: str = "bad") -> PoseResult:
    return PoseResult(None, None, 0.0, TrackingMode.REGISTERING, reason=reason)


def without_retry(**kwargs: Any) -> LossCriteria:
    """Criteria without the retry around a failed first tracked frame (these tests script one track per frame)."""
    return LossCriteria(retry_offset_m=0.0, **kwargs)


class ScriptedEstimator:
    """Returns scripted results and records how it was called."""

    def __init__(self, registrations: list[PoseResult], tracks: list[PoseResult]) -> None:
        self.registrations, self.tracks = list(registrations), list(tracks)
        self.calls: list[str] = []
        self.previous: list[PoseResult] = []
        self.behind: list[bool] = []
        self.backwards: list[bool] = []

    def register(self, frame, mask):
        self.calls.append("register")
        return self.registrations.pop(0)

    def track(self, frame, previous, *, behind=False, backwards=False):
        self.calls.append("track")
        self.previous.append(previous)
        self.behind.append(behind)
        self.backwards.append(backwards)
        return self.tracks.pop(0)


def test_waits_for_a_mask_then_registers_and_tracks():
    est = ScriptedEstimator([good()], [good(0.01)])
    tracker = ObjectTracker(est, without_retry())
    waiting = tracker.process(FRAME, None)
    assert not waiting.has_pose and waiting.mode is TrackingMode.REGISTERING and "mask" in waiting.reason
    assert waiting.stamp_s == 3.0
    registered = tracker.process(FRAME, MASK)
    assert registered.has_pose and registered.mode is TrackingMode.TRACKING
    tracked = tracker.process(FRAME, MASK)  # a mask while tracking is not used
    assert tracked.has_pose and tracked.mode is TrackingMode.TRACKING
    assert est.calls == ["register", "track"]


def test_failed_registration_reports_no_pose_and_stays_registering():
    est = ScriptedEstimator([none("the mask is empty"), good(score=0.1)], [])
    tracker = ObjectTracker(est, without_retry())
    first = tracker.process(FRAME, MASK)
    assert not first.has_pose and first.mode is TrackingMode.REGISTERING and "the mask is empty" in first.reason
    low = tracker.process(FRAME, MASK)
    assert not low.has_pose and low.mode is TrackingMode.REGISTERING and "min_score" in low.reason


@pytest.mark.parametrize("bad", [good(score=0.1), good(visible=0.05), good(x=0.5), good(yaw_deg=90.0), none()])
def test_each_criterion_rejects_the_pose_and_loses_the_object(bad):
    est = ScriptedEstimator([good()], [bad, bad])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=2))
    tracker.process(FRAME, MASK)
    first = tracker.process(FRAME, None)
    assert not first.has_pose and first.mode is TrackingMode.TRACKING and "1/2" in first.reason
    assert first.score == 0.0
    second = tracker.process(FRAME, None)
    assert not second.has_pose and second.mode is TrackingMode.LOST and second.reason.startswith("object lost")


def test_tracking_continues_from_the_last_trusted_pose_after_one_bad_frame():
    est = ScriptedEstimator([good()], [good(score=0.1), good(0.02), good(0.03)])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=2))
    tracker.process(FRAME, MASK)
    assert not tracker.process(FRAME, None).has_pose
    recovered = tracker.process(FRAME, None)
    assert recovered.has_pose and recovered.mode is TrackingMode.TRACKING
    # The bad frame's pose was never used as a starting point.
    assert est.previous[1].T_cam_centered[0, 3] == 0.0
    tracker.process(FRAME, None)
    assert est.previous[2].T_cam_centered[0, 3] == pytest.approx(0.02)


def test_lost_waits_for_a_mask_then_re_registers():
    est = ScriptedEstimator([good(), none(), good(0.1)], [none()])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=1))
    tracker.process(FRAME, MASK)
    assert tracker.process(FRAME, None).mode is TrackingMode.LOST
    waiting = tracker.process(FRAME, None)
    assert not waiting.has_pose and waiting.mode is TrackingMode.LOST and "re-register" in waiting.reason
    failed = tracker.process(FRAME, MASK)
    assert not failed.has_pose and failed.mode is TrackingMode.REGISTERING
    back = tracker.process(FRAME, MASK)
    assert back.has_pose and back.mode is TrackingMode.TRACKING
    assert est.calls == ["register", "track", "register", "register"]


def test_reset_forgets_the_object():
    est = ScriptedEstimator([good(), good()], [])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(FRAME, MASK)
    tracker.reset()
    assert tracker.mode is TrackingMode.REGISTERING
    assert not tracker.process(FRAME, None).has_pose
    assert tracker.process(FRAME, MASK).has_pose
    assert est.calls == ["register", "register"]


def test_pose_jump():
    translation, rotation = pose_jump(pose(0.0, 0.0), pose(0.03, 30.0))
    assert translation == pytest.approx(0.03) and rotation == pytest.approx(30.0)


def test_a_turn_about_the_free_axis_is_no_jump():
    # pose() turns about the optical axis, which is the object's z axis: the free axis here.
    z = np.array([0.0, 0.0, 1.0])
    assert pose_jump(pose(0.0, 0.0), pose(0.0, 120.0), z)[1] == pytest.approx(0.0, abs=1e-6)
    tilt = pose_matrix([math.radians(20.0), 0.0, 0.0], [0.0, 0.0, 0.5]) @ pose(0.0, 90.0)
    assert pose_jump(pose(0.0, 0.0), tilt, z)[1] == pytest.approx(20.0)
    criteria = LossCriteria(max_rotation_jump_deg=60.0)
    assert criteria.failure(good(yaw_deg=120.0), good(), free_axis=z) is None
    assert "turned" in criteria.failure(good(yaw_deg=120.0), good())


class TurningEstimator(ScriptedEstimator):
    """A scripted estimator whose object has an axis of revolution (z), as PoseEstimator.spin_axis says."""

    spin_axis = RevolutionAxis(point=np.zeros(3), direction=np.array([0.0, 0.0, 1.0]))

    def __init__(self, registrations: list[PoseResult], tracks: list[PoseResult],
                 searches: list[PoseResult | None] | None = None) -> None:
        super().__init__(registrations, tracks)
        self.searches = list(searches or [])

    def search_turns(self):
        """The next scripted search result, as PoseEstimator.search_turns: only right after a track."""
        pending = bool(self.calls) and self.calls[-1] == "track"
        self.calls.append("search")
        return self.searches.pop(0) if pending and self.searches else None


def test_the_tracker_lets_the_estimator_turn_about_its_axis_and_predicts_no_velocity_from_it():
    stamps = [0.0, 1 / 30, 2 / 30, 3 / 30]
    yaws = [0.0, 2.0, 100.0, 101.0]  # pose() turns about the object's z axis, its free axis here
    results = [dataclasses.replace(good(yaw_deg=yaw), stamp_s=t) for yaw, t in zip(yaws, stamps, strict=True)]
    est = TurningEstimator(results[:1], results[1:])
    tracker = ObjectTracker(est, without_retry())
    frames = [dataclasses.replace(FRAME, stamp_s=t) for t in stamps]
    tracker.process(frames[0], MASK)
    tracker.process(frames[1])
    assert tracker.process(frames[2]).has_pose  # a 98 deg turn about the free axis is trusted
    tracker.process(frames[3])
    # Each track starts from the last pose's turn: the turns are the estimator's to choose, not a velocity.
    assert pose_jump(est.previous[1].T_cam_centered, pose(0.0, 2.0))[1] < 1e-4
    assert pose_jump(est.previous[2].T_cam_centered, pose(0.0, 100.0))[1] < 1e-4


@pytest.mark.parametrize("caller_runs_it", [True, False])
def test_a_turn_the_deferred_search_finds_is_where_the_next_frame_starts(caller_runs_it):
    stamps = [0.0, 1 / 30, 2 / 30]
    tracks = [dataclasses.replace(good(yaw_deg=yaw), stamp_s=t) for yaw, t in ((1.0, stamps[1]), (91.0, stamps[2]))]
    est = TurningEstimator([good()], tracks, searches=[dataclasses.replace(good(yaw_deg=90.0), stamp_s=stamps[1])])
    tracker = ObjectTracker(est, without_retry())
    frames = [dataclasses.replace(FRAME, stamp_s=t) for t in stamps]
    tracker.process(frames[0], MASK)
    published = tracker.process(frames[1])
    assert pose_jump(published.T_cam_centered, pose(0.0, 1.0))[1] < 1e-4  # the frame's own pose, not the search's
    if caller_runs_it:
        tracker.run_deferred()  # the node, once the pose is out
    assert tracker.process(frames[2]).has_pose  # else process runs it before tracking
    calls = [c for i, c in enumerate(est.calls) if i == 0 or c != est.calls[i - 1]]  # a second search finds none
    assert calls[-3:] == ["track", "search", "track"]
    assert pose_jump(est.previous[-1].T_cam_centered, pose(0.0, 90.0))[1] < 1e-4


def test_a_frame_tracked_behind_does_not_run_the_search_the_last_one_left():
    tracks = [dataclasses.replace(good(yaw_deg=1.0), stamp_s=1 / 30), dataclasses.replace(good(), stamp_s=2 / 30)]
    est = TurningEstimator([good()], tracks, searches=[dataclasses.replace(good(yaw_deg=90.0), stamp_s=1 / 30)])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(dataclasses.replace(FRAME, stamp_s=0.0), MASK)
    tracker.process(dataclasses.replace(FRAME, stamp_s=1 / 30))
    assert tracker.process(dataclasses.replace(FRAME, stamp_s=2 / 30), behind=True).has_pose
    assert est.calls[-2:] == ["track", "track"]


def test_criteria_reject_absurd_values():
    with pytest.raises(ConfigError, match="min_score"):
        LossCriteria(min_score=2.0)
    with pytest.raises(ConfigError, match="max_failed_frames"):
        LossCriteria(max_failed_frames=0)


def test_predict_pose_extrapolates_constant_velocity_and_refuses_gaps():
    from fpose_ros.core.tracking_state import predict_pose

    predicted = predict_pose(pose(0.00, 10), 0.0, pose(0.01, 13), 1 / 30, 2 / 30)
    assert np.allclose(predicted, pose(0.02, 16), atol=1e-9)
    half = predict_pose(pose(10, 0.00), 0.0, pose(13, 0.01), 1 / 30, 1.5 / 30)
    assert np.allclose(half, pose(14.5, 0.015), atol=1e-9)
    # Stamps going backwards (a bag loop) or a long gap: no extrapolation.
    assert np.array_equal(predict_pose(pose(10, 0), 0.0, pose(13, 0.01), 1 / 30, 0.0), pose(13, 0.01))
    assert np.array_equal(predict_pose(pose(10, 0), 0.0, pose(13, 0.01), 1 / 30, 5.0), pose(13, 0.01))


def test_an_occluded_failure_holds_the_pose_and_resumes_from_it_without_a_mask():
    est = ScriptedEstimator([good(stamp_s=3.0)], [hidden(0.03), hidden(0.05), hidden(0.04), good(0.004)])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=1))
    tracker.process(FRAME, MASK)
    results = [tracker.process(frame_at(3.0 + i / 30), None) for i in (1, 2, 3, 4)]
    # max_failed_frames=1 would lose the object at the first failure were it not occluded.
    assert [r.mode for r in results] == [TrackingMode.OCCLUDED] * 3 + [TrackingMode.TRACKING]
    assert [r.has_pose for r in results] == [False, False, False, True]
    assert "occluded" in results[0].reason
    # Every frame while occluded starts from the held pose, not from the drifting rejected ones.
    assert [p.T_cam_centered[0, 3] for p in est.previous[1:]] == [0.0, 0.0, 0.0]
    assert est.calls == ["register", "track", "track", "track", "track"]


def test_occluded_too_long_is_lost():
    est = ScriptedEstimator([good(stamp_s=3.0), good(0.1)], [hidden(), hidden()])
    tracker = ObjectTracker(est, without_retry(occlusion_timeout_s=0.5))
    tracker.process(FRAME, MASK)
    assert tracker.process(frame_at(3.1), None).mode is TrackingMode.OCCLUDED
    assert tracker.process(frame_at(3.4), None).mode is TrackingMode.OCCLUDED
    timed_out = tracker.process(frame_at(3.6), None)
    assert timed_out.mode is TrackingMode.LOST and not timed_out.has_pose and "occlusion_timeout_s" in timed_out.reason
    assert not tracker.process(frame_at(3.7), None).has_pose  # waits for a mask
    assert tracker.process(frame_at(3.8), MASK).has_pose
    assert est.calls == ["register", "track", "track", "register"]


def test_a_failed_resumption_without_occlusion_is_lost_after_max_failed_frames():
    est = ScriptedEstimator([good()], [hidden(), good(score=0.1), good(score=0.1)])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=2))
    tracker.process(FRAME, MASK)
    assert tracker.process(FRAME, None).mode is TrackingMode.OCCLUDED
    first = tracker.process(FRAME, None)
    assert first.mode is TrackingMode.OCCLUDED and not first.has_pose and "1/2" in first.reason
    assert tracker.process(FRAME, None).mode is TrackingMode.LOST


def test_occluded_registers_on_a_mask_when_nothing_hides_the_held_pose():
    """The object moved while hidden and is seen elsewhere: the mask registers it there."""
    est = ScriptedEstimator([good(), good(0.2)], [hidden(), good(score=0.1, occluded=0.0)])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(FRAME, MASK)
    assert tracker.process(FRAME, MASK).mode is TrackingMode.OCCLUDED  # a mask while tracking is not used
    moved = tracker.process(FRAME, MASK)
    assert moved.has_pose and moved.mode is TrackingMode.TRACKING and moved.T_cam_centered[0, 3] == 0.2
    assert est.calls == ["register", "track", "track", "register"]


def test_a_mask_of_the_part_in_view_does_not_register_while_the_held_pose_is_hidden():
    est = ScriptedEstimator([good()], [hidden(), hidden(visible=0.1, occluded=0.8)])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(FRAME, MASK)
    tracker.process(FRAME, None)
    held = tracker.process(FRAME, MASK)
    assert held.mode is TrackingMode.OCCLUDED and not held.has_pose
    assert est.calls == ["register", "track", "track"]


def test_partial_occlusion_that_passes_the_criteria_keeps_tracking():
    est = ScriptedEstimator([good()], [good(0.001, visible=0.3, occluded=0.7, score=0.5)])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(FRAME, MASK)
    partly = tracker.process(FRAME, None)
    assert partly.has_pose and partly.mode is TrackingMode.TRACKING


def test_a_failure_with_little_in_front_is_not_an_occlusion():
    """The object leaving the view or a pose slipping off it shows background behind, not something in front."""
    est = ScriptedEstimator([good()], [good(visible=0.05, occluded=0.1)])
    tracker = ObjectTracker(est, without_retry(max_failed_frames=1, min_occluded_fraction=0.4))
    tracker.process(FRAME, MASK)
    assert tracker.process(FRAME, None).mode is TrackingMode.LOST


def test_no_velocity_is_extrapolated_across_a_registration_from_occluded():
    est = ScriptedEstimator([good(stamp_s=3.0), good(0.1, stamp_s=3.1)],
                            [good(0.01, stamp_s=3.0 + 1 / 30), hidden(), good(score=0.1),
                             good(0.1, stamp_s=3.1 + 1 / 30)])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(FRAME, MASK)
    tracker.process(frame_at(3.0 + 1 / 30), None)
    assert tracker.process(frame_at(3.0 + 2 / 30), None).mode is TrackingMode.OCCLUDED
    assert tracker.process(frame_at(3.1), MASK).mode is TrackingMode.TRACKING  # registered where it is now
    tracker.process(frame_at(3.1 + 1 / 30), None)
    assert est.previous[-1].T_cam_centered[0, 3] == pytest.approx(0.1)  # the registered pose, not extrapolated


def test_touches_border():
    assert touches_border(BORDER_MASK) and not touches_border(MASK)
    near = np.zeros((12, 16), np.uint8)
    near[1, 5] = 1
    assert touches_border(near) and not touches_border(near, margin_px=1)


def test_a_mask_cut_by_the_border_registers_only_after_another_one_once_the_object_had_a_pose():
    """An object swinging back into view is not registered on its first, border-cut mask."""
    est = ScriptedEstimator([good(0.1, stamp_s=2.0), good(0.1, stamp_s=3.1), good(0.2, stamp_s=4.1)], [])
    tracker = ObjectTracker(est, without_retry(border_mask_pair_s=0.5))
    assert tracker.process(frame_at(2.0), BORDER_MASK).has_pose  # start-up: the first pose at once
    tracker.reset()
    entering = tracker.process(frame_at(3.0), BORDER_MASK)
    assert not entering.has_pose and "border" in entering.reason and est.calls == ["register"]
    assert tracker.process(frame_at(3.1), MASK).has_pose  # in view now: registers at once
    tracker.reset()
    assert not tracker.process(frame_at(3.2), BORDER_MASK).has_pose
    assert tracker.process(frame_at(4.0), BORDER_MASK).has_pose is False  # 0.8 s later: not the same stay
    assert tracker.process(frame_at(4.1), BORDER_MASK).has_pose  # resting at the border: the 2nd mask registers
    assert est.calls == ["register", "register", "register"]
    est_off = ScriptedEstimator([good()], [])
    assert ObjectTracker(est_off, LossCriteria(border_mask_pair_s=0.0)).process(FRAME, BORDER_MASK).has_pose


def _mask_at_columns(first: int, end: int) -> np.ndarray:
    mask = np.zeros((12, 16), np.uint8)
    mask[3:9, first:end] = 1
    return mask


def test_the_first_tracked_frame_after_a_registration_moves_at_the_masks_velocity():
    """The live node registers a fast object late: the frame after it starts where the two masks say it went."""
    est = ScriptedEstimator([good(0.0, stamp_s=3.1)], [good(0.0133, stamp_s=3.1 + 1 / 30)])
    tracker = ObjectTracker(est, without_retry())
    # Depth 0.5 m, fx 50: the mask's box centre moving 4 pixels to the right in 0.1 s is 4 cm, 0.4 m/s.
    tracker.note_mask(frame_at(3.0), _mask_at_columns(4, 8))  # an earlier frame the node skipped
    assert tracker.process(frame_at(3.1), _mask_at_columns(8, 12)).has_pose
    tracker.process(frame_at(3.1 + 1 / 30), None)
    start = est.previous[-1].T_cam_centered
    assert start[0, 3] == pytest.approx(0.04 / 3, abs=1e-4)  # a third of the masks' motion, one frame on
    assert start[2, 3] == pytest.approx(0.5) and pose_jump(pose(), start)[1] == pytest.approx(0.0, abs=1e-6)


def test_masks_too_far_apart_give_no_velocity():
    """Masks 0.33 s apart (3 Hz) are beyond the constant-velocity gap: the registered pose is the start."""
    est = ScriptedEstimator([none("no hypothesis fits"), good(0.0, stamp_s=3.33)], [good(0.0, stamp_s=3.33 + 1 / 30)])
    tracker = ObjectTracker(est, without_retry())
    assert not tracker.process(frame_at(3.0), _mask_at_columns(4, 8)).has_pose
    assert tracker.process(frame_at(3.33), _mask_at_columns(8, 12)).has_pose
    tracker.process(frame_at(3.33 + 1 / 30), None)
    assert est.previous[-1].T_cam_centered[0, 3] == pytest.approx(0.0)


def test_a_later_mask_gives_the_same_velocity():
    """Registered on the oldest mask held, the node gives the tracker the mask after it."""
    est = ScriptedEstimator([good(0.0, stamp_s=3.1)], [good(0.0133, stamp_s=3.1 + 1 / 30)])
    tracker = ObjectTracker(est, without_retry())
    tracker.note_mask(frame_at(3.2), _mask_at_columns(12, 16))
    assert tracker.process(frame_at(3.1), _mask_at_columns(8, 12)).has_pose
    tracker.process(frame_at(3.1 + 1 / 30), None)
    assert est.previous[-1].T_cam_centered[0, 3] == pytest.approx(0.04 / 3, abs=1e-4)


def symmetric_box(axes: list[str]) -> ObjectModel:
    """A plain 6 x 4 x 10 cm box declared symmetric under ``axes`` (Isaac ROS's strings)."""
    symmetry = parse_symmetry(axes)
    return object_model_from_trimesh(trimesh.creation.box(extents=(0.06, 0.04, 0.1)),
                                     symmetries=symmetry.transforms(), symmetry_axis=symmetry.axis)


class SymmetricEstimator(ScriptedEstimator):
    """A scripted estimator that tells its object, as PoseEstimator.model does."""

    def __init__(self, model: ObjectModel, registrations: list[PoseResult], tracks: list[PoseResult]) -> None:
        super().__init__(registrations, tracks)
        self.model = model


def yaw_of(result: PoseResult) -> float:
    """The turn about the optical axis (= the object's z axis here) of a result's pose, degrees in (-180, 180]."""
    R = result.T_cam_centered[:3, :3]
    return math.degrees(math.atan2(R[1, 0], R[0, 0]))


def test_a_flip_to_an_equivalent_pose_is_no_jump():
    half = symmetric_box(["z_180"]).symmetries
    assert pose_jump(pose(0.0, 0.0), pose(0.01, 183.0), symmetries=half) == pytest.approx((0.01, 3.0))
    assert pose_jump(pose(0.0, 0.0), pose(0.01, 183.0))[1] == pytest.approx(177.0)
    assert LossCriteria().failure(good(yaw_deg=180.0), good(), symmetries=half) is None


def test_tracking_trusts_a_flip_to_an_equivalent_pose_and_publishes_the_pose_nearest_the_last():
    flip = [good(0.002, yaw_deg=182.0), good(0.004, yaw_deg=-177.0)]
    tracker = ObjectTracker(SymmetricEstimator(symmetric_box(["z_180"]), [good(yaw_deg=1.0)], flip), without_retry())
    tracker.process(FRAME, MASK)
    published = [tracker.process(FRAME), tracker.process(FRAME)]
    assert all(r.has_pose for r in published)
    assert [yaw_of(r) for r in published] == pytest.approx([2.0, 3.0])  # no flip from frame to frame
    assert yaw_of(tracker.estimator.previous[1]) == pytest.approx(-178.0)  # the engine goes on from its own pose
    assert np.allclose(published[1].T_cam_obj, published[1].T_cam_centered @ tracker.estimator.model.T_centered_mesh)
    # Undeclared, the same flip is a jump: not trusted.
    plain = ObjectTracker(SymmetricEstimator(symmetric_box([]), [good(yaw_deg=1.0)], flip[:1]), without_retry())
    plain.process(FRAME, MASK)
    assert "turned" in plain.process(FRAME).reason


def test_a_registration_publishes_the_equivalent_pose_nearest_a_recent_one_else_the_canonical_one():
    registrations = [good(yaw_deg=100.0, stamp_s=3.0), good(yaw_deg=80.0, stamp_s=4.0),
                     good(yaw_deg=80.0, stamp_s=10.0)]
    tracker = ObjectTracker(SymmetricEstimator(symmetric_box(["z_180"]), registrations,
                                               [good(yaw_deg=-100.0, stamp_s=3.1)]), without_retry())
    # No pose published before: of 100 and -80 deg, the one nearest the camera's axes.
    assert yaw_of(tracker.process(frame_at(3.0), MASK)) == pytest.approx(-80.0)
    assert yaw_of(tracker.process(frame_at(3.1))) == pytest.approx(-100.0)  # tracked on, past the canonical half
    tracker.reset()
    # 0.9 s later: of 80 and -100, the one nearest the last published (-100), not the canonical one (80).
    assert yaw_of(tracker.process(frame_at(4.0), MASK)) == pytest.approx(-100.0)
    tracker.reset()
    assert yaw_of(tracker.process(frame_at(10.0), MASK)) == pytest.approx(80.0)  # 6 s later: canonical


def test_a_continuous_symmetry_publishes_no_turn_about_its_axis_and_predicts_none():
    can = symmetric_box(["z_full"])  # declared about z (the box is not round: the tracker takes the user's word)
    stamps = [0.0, 1 / 30, 2 / 30]
    results = [dataclasses.replace(good(x=0.001 * i, yaw_deg=yaw), stamp_s=t)
               for i, (yaw, t) in enumerate(zip([0.0, 37.0, 81.0], stamps, strict=True))]
    est = SymmetricEstimator(can, results[:1], results[1:])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(dataclasses.replace(FRAME, stamp_s=stamps[0]), MASK)
    published = [tracker.process(dataclasses.replace(FRAME, stamp_s=t)) for t in stamps[1:]]
    assert [yaw_of(r) for r in published] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert published[1].T_cam_centered[0, 3] == pytest.approx(0.002)
    # The second track starts from the engine's own pose (37 deg), with no turn extrapolated (74 deg).
    assert yaw_of(est.previous[1]) == pytest.approx(37.0)


def test_a_failed_first_frame_without_velocity_is_tracked_again_from_starts_around_the_pose():
    """A fast object with no second mask: a start 2 cm off the registered pose finds it in the first frame.

    The first tracked frame fails from the registered pose, a start 2 cm along one camera axis finds the
    object, a second pass from there is published; the next frame has a velocity and is not retried.
    """
    seeds = [good(0.0, score=0.1)] * 6
    seeds[1] = good(0.02, score=0.5)  # the start moved along +y happened to reach the object
    est = ScriptedEstimator([good()], [good(0.0, score=0.1), *seeds, good(0.021, score=0.9),
                                       good(0.05, score=0.1)])
    tracker = ObjectTracker(est, LossCriteria(retry_offset_m=0.02))
    assert tracker.process(frame_at(3.0), MASK).has_pose
    first = tracker.process(frame_at(3.0 + 1 / 30), None)
    assert first.has_pose and first.mode is TrackingMode.TRACKING and first.score == 0.9
    starts = np.array([p.T_cam_centered[:3, 3] for p in est.previous[1:7]]) - pose()[:3, 3]
    np.testing.assert_allclose(starts, np.vstack([np.eye(3), -np.eye(3)]) * 0.02, atol=1e-12)
    assert est.previous[7].score == 0.5  # the second pass starts from the best scoring retry
    # With two trusted poses there is a velocity: a failure is a failure, without retries.
    second = tracker.process(frame_at(3.0 + 2 / 30), None)
    assert not second.has_pose and "not confirmed" in second.reason
    assert est.calls.count("track") == 9


def test_a_vanished_object_is_still_lost_and_no_retry_publishes_a_jump():
    """Retries that all fail, or whose best pose jumps further than any motion, leave the object failing to LOST."""
    far = good(0.3, score=0.95)  # scores well, but 0.3 m from the registered pose
    est = ScriptedEstimator([good()], ([good(0.0, score=0.05)] * 6 + [far, good(0.0, score=0.05)]) * 2)
    tracker = ObjectTracker(est, LossCriteria(retry_offset_m=0.02, max_failed_frames=2))
    assert tracker.process(frame_at(3.0), MASK).has_pose
    results = [tracker.process(frame_at(3.0 + k / 30), None) for k in (1, 2)]
    assert not any(r.has_pose for r in results)
    assert results[0].mode is TrackingMode.TRACKING and results[1].mode is TrackingMode.LOST
    assert est.calls.count("track") == 16  # one try, six retries and a second pass per frame


def test_a_failed_prediction_is_tried_again_from_the_last_trusted_pose():
    """The masks' velocity carries the first tracked frame past an object that stopped: the still pose holds it."""
    est = ScriptedEstimator([good(0.0, stamp_s=3.1)],
                            [good(0.0, score=0.0, stamp_s=3.1 + 1 / 30), good(0.0, stamp_s=3.1 + 1 / 30)])
    tracker = ObjectTracker(est)
    tracker.note_mask(frame_at(3.0), _mask_at_columns(4, 8))
    assert tracker.process(frame_at(3.1), _mask_at_columns(8, 12)).has_pose
    result = tracker.process(frame_at(3.1 + 1 / 30), None)
    assert result.has_pose and result.mode is TrackingMode.TRACKING
    assert est.calls == ["register", "track", "track"]
    assert est.previous[-2].T_cam_centered[0, 3] > 0.01  # the prediction first, then the registered pose itself
    np.testing.assert_allclose(est.previous[-1].T_cam_centered, pose(0.0))


def test_without_a_prediction_a_failure_is_not_tried_twice():
    est = ScriptedEstimator([good()], [good(score=0.0)])
    tracker = ObjectTracker(est, LossCriteria(retry_offset_m=0.0))  # only the still-pose retry is in question
    tracker.process(FRAME, MASK)
    assert not tracker.process(frame_at(3.1), None).has_pose
    assert est.calls == ["register", "track"]


def test_track_back_gives_the_frames_before_a_registration_until_one_fails():
    """Registered on frame 3.1's mask: 3.1 - 1/30 and 3.1 - 2/30 track back from it, 3.0 fails and ends it."""
    period = 1 / 30
    est = ScriptedEstimator([good(0.02, stamp_s=3.1)],
                            [good(0.01, stamp_s=3.1 - period), good(0.0, stamp_s=3.1 - 2 * period),
                             good(0.0, score=0.0, stamp_s=3.0)])
    tracker = ObjectTracker(est)
    registered = tracker.process(frame_at(3.1), MASK)
    earlier = [frame_at(3.1 - period), frame_at(3.1 - 2 * period), frame_at(3.0), frame_at(3.0 - period)]
    back = tracker.track_back(earlier, registered)
    assert [r.stamp_s for r in back] == pytest.approx([3.1 - period, 3.1 - 2 * period])
    assert all(r.has_pose and r.mode is TrackingMode.TRACKING for r in back)
    assert est.calls == ["register", "track", "track", "track"]  # nothing after the failure
    assert est.behind == [True] * 3  # the frames after the registered one wait meanwhile
    assert est.backwards == [True] * 3  # older than the registered one: no search over all turns for the next frame
    np.testing.assert_allclose(est.previous[0].T_cam_centered, pose(0.02))  # from the registered pose itself
    # Then at the velocity of the last two, backwards: 0.02 -> 0.01 one frame earlier, so 0.0 the next.
    assert est.previous[1].T_cam_centered[0, 3] == pytest.approx(0.0, abs=1e-9)
    # The tracker's own state is the registration's: the next frame tracks on from it.
    assert tracker.mode is TrackingMode.TRACKING
    est.tracks.append(good(0.02, stamp_s=3.1 + period))
    assert tracker.process(frame_at(3.1 + period), None).has_pose
    np.testing.assert_allclose(est.previous[-1].T_cam_centered, pose(0.02))
    est.tracks.append(good(0.02, stamp_s=3.1 + 2 * period))
    assert tracker.process(frame_at(3.1 + 2 * period), None, behind=True).has_pose
    assert est.behind[-2:] == [False, True]  # as the caller said
    assert est.backwards[-2:] == [False, False]


def test_a_flip_to_an_equivalent_pose_is_no_velocity():
    stamps = [3.0, 3.0 + 1 / 30, 3.0 + 2 / 30]
    results = [good(yaw_deg=yaw, stamp_s=t) for yaw, t in zip([0.0, 180.0, 180.0], stamps, strict=True)]
    est = SymmetricEstimator(symmetric_box(["z_180"]), results[:1], results[1:])
    tracker = ObjectTracker(est, without_retry())
    tracker.process(frame_at(stamps[0]), MASK)
    assert tracker.process(frame_at(stamps[1])).has_pose
    tracker.process(frame_at(stamps[2]))
    # From the engine's 180 deg pose, not turned on by another 180 deg as a velocity would.
    assert abs(yaw_of(est.previous[1])) == pytest.approx(180.0)


def test_track_back_publishes_the_equivalent_poses_nearest_the_registered_one():
    period = 1 / 30
    est = SymmetricEstimator(symmetric_box(["z_180"]), [good(yaw_deg=10.0, stamp_s=3.1)],
                             [good(yaw_deg=191.0, stamp_s=3.1 - period), good(yaw_deg=192.0, stamp_s=3.1 - 2 * period)])
    tracker = ObjectTracker(est)
    registered = tracker.process(frame_at(3.1), MASK)
    back = tracker.track_back([frame_at(3.1 - period), frame_at(3.1 - 2 * period)], registered)
    assert [yaw_of(r) for r in back] == pytest.approx([11.0, 12.0])
    # The second step starts from the engine's own pose, at no velocity from the flip (192 = 191 + 1 deg).
    assert yaw_of(est.previous[1]) == pytest.approx(-168.0, abs=1e-6)
