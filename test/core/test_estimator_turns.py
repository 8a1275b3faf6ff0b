"""The engine finds the turn of a labelled can about its axis, which depth alone cannot see."""

import numpy as np
import pytest
from engine_frames import frame_at
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.estimator import (
    EstimatorConfig,
    TurnSearch,
    build_estimator,
    nearest_turns_first,
    search_frames_per_round,
)
from fpose_ros.core.object_model import object_model_from_trimesh
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.synthetic.textured_objects import textured_mesh

CAMERA = CameraIntrinsics(fx=600.0, fy=600.0, cx=159.5, cy=119.5, width=320, height=240)


@pytest.fixture(scope="module")
def can():
    model = object_model_from_trimesh(textured_mesh("soup_can"), name="soup_can")
    return model, build_estimator(model, EstimatorConfig(spin_full_every=0))


def can_pose(turn_deg: float) -> np.ndarray:
    """The can 0.4 m away, its axis tilted 60 deg towards the camera, turned ``turn_deg`` about its axis."""
    T = np.eye(4)
    T[:3, :3] = (Rotation.from_euler("x", -60, degrees=True) * Rotation.from_euler("z", turn_deg, degrees=True)
                 ).as_matrix()
    T[:3, 3] = [0.0, 0.0, 0.4]
    return T


def turn_error_deg(T: np.ndarray, T_true: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(Rotation.from_matrix(T_true[:3, :3].T @ T[:3, :3]).as_rotvec())))


def test_the_can_has_an_axis_of_revolution(can):
    _, estimator = can
    assert estimator.spin_axis is not None and abs(estimator.spin_axis.direction[2]) > 0.999


@pytest.mark.parametrize("off_deg", [-8.0, 7.0])
def test_tracking_turns_back_to_the_print(can, off_deg):
    _, estimator = can
    T_true = can_pose(30.0)
    previous = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(30.0 + off_deg), score=1.0,
                          mode=TrackingMode.TRACKING)
    result = estimator.track(frame_at(estimator, T_true, CAMERA), previous)
    assert result.has_pose and turn_error_deg(result.T_cam_centered, T_true) < 2.5


def test_tracking_without_the_turn_search_stays_where_it_started(can):
    model, _ = can
    estimator = build_estimator(model, EstimatorConfig(spin_track_deg=0.0))
    T_true = can_pose(30.0)
    previous = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(38.0), score=1.0, mode=TrackingMode.TRACKING)
    result = estimator.track(frame_at(estimator, T_true, CAMERA), previous)
    assert turn_error_deg(result.T_cam_centered, T_true) > 5.0


def test_turn_search_batches_cover_every_turn_within_the_round():
    search = TurnSearch()
    seen: set[int] = set()
    for _ in range(search_frames_per_round(18, 4)):
        batch = search.next_batch(18, 4)
        assert len(batch) <= 4 and len(set(batch)) == len(batch)
        seen.update(batch)
    assert seen == set(range(1, 18))


def test_turn_search_takes_the_nearest_turns_first_either_way():
    assert nearest_turns_first(18)[:6] == [1, 17, 2, 16, 3, 15]
    assert sorted(nearest_turns_first(18)) == list(range(1, 18))
    assert nearest_turns_first(4) == [1, 3, 2]  # the half turn once
    assert nearest_turns_first(1) == []
    assert TurnSearch().next_batch(18, 4) == [1, 17, 2, 16]


def test_frames_behind_search_at_their_own_cadence_for_one_round_level_frames_always():
    search = TurnSearch()
    behind = [n for n in range(1, 21) if search.count_frame(4, True, 3)]
    level = [n for n in range(1, 21) if search.count_frame(3, False, 3)]
    assert behind == [4, 8, 12]  # three search frames: one round; a node that stays behind searches no more
    assert level == [3, 6, 9, 12, 15, 18]
    assert not any(TurnSearch().count_frame(0, kind, 3) for kind in (True, False))


def test_turn_search_renders_its_candidate_first_and_once():
    search = TurnSearch(cursor=2, candidate=16)  # next in the order: 2, 16, 3, 15
    assert search.next_batch(18, 4) == [16, 2, 3, 15]
    assert search.cursor == 6
    assert TurnSearch(cursor=15).next_batch(18, 4) == [10, 9, 1, 17]  # the round starts over


def test_a_lost_turn_is_found_within_a_round_rendering_few_turns_a_frame(can):
    model, _ = can
    config = EstimatorConfig()
    estimator = build_estimator(model, config)
    rendered: list[int] = []
    render = estimator.renderer.render

    def counting_render(mesh, T, *args, **kwargs):
        rendered.append(T.shape[0])
        return render(mesh, T, *args, **kwargs)

    estimator.renderer.render = counting_render  # type: ignore[method-assign]
    T_true = can_pose(30.0)
    frame = frame_at(estimator, T_true, CAMERA)
    # 120 deg off: far outside the nearby search, only the full search over 360 deg can find it.
    previous = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(150.0), score=1.0, mode=TrackingMode.TRACKING)
    errors, per_frame = [], []
    rounds = search_frames_per_round(config.spin_register_steps, config.spin_track_turns)
    for _ in range(rounds * config.spin_full_every + 1):
        rendered.clear()
        previous = estimator.track(frame, previous)
        assert previous.has_pose
        errors.append(turn_error_deg(previous.T_cam_centered, T_true))
        previous = estimator.search_turns() or previous  # as the tracker does once the frame's pose is out
        per_frame.append(sum(rendered))
    assert errors[0] > 100.0 and errors[-1] < 2.5
    # The refinement's rendering, the tracked turn, the candidate, spin_track_turns others, the winner refined.
    assert max(per_frame) <= config.spin_track_turns + 4


def searching_every_frame_with_the_turn_lost(model, **config):
    """An engine that searches all turns on every tracked frame, a frame of the can, and a pose 120 deg off.

    ``config``: more EstimatorConfig fields (the search while behind).
    """
    estimator = build_estimator(model, EstimatorConfig(spin_full_every=1, **config))
    T_true = can_pose(30.0)
    lost = PoseResult(T_cam_obj=None, T_cam_centered=can_pose(150.0), score=1.0, mode=TrackingMode.TRACKING)
    return estimator, T_true, frame_at(estimator, T_true, CAMERA), lost


def track_behind(estimator, frame, previous, frames):
    """Track ``frames`` frames behind, each search run after its frame; the last pose, whether each one's took over."""
    took_over = []
    for _ in range(frames):
        previous = estimator.track(frame, previous, behind=True)
        found = estimator.search_turns()
        took_over.append(found is not None)
        previous = found or previous
    return previous, took_over


def test_the_full_turn_search_waits_until_the_frames_pose_is_out_and_only_for_the_next_frame(can):
    estimator, T_true, frame, lost = searching_every_frame_with_the_turn_lost(can[0])
    rounds = search_frames_per_round(estimator.config.spin_register_steps, estimator.config.spin_track_turns)
    previous, found = lost, None
    for _ in range(rounds):
        tracked = estimator.track(frame, previous)
        assert turn_error_deg(tracked.T_cam_centered, T_true) > 100.0  # a frame's own pose never waits for it
        found = estimator.search_turns()
        if found is not None:
            break
        previous = tracked
    assert found is not None and turn_error_deg(found.T_cam_centered, T_true) < 2.5
    previous = estimator.track(frame, found)
    assert turn_error_deg(previous.T_cam_centered, T_true) < 2.5
    assert found.stamp_s == frame.stamp_s
    estimator.track(frame, previous)
    estimator.track(frame, previous)  # the search the first of these left is dropped: not run before the next frame
    assert estimator.search_turns() is None


def test_frames_tracked_behind_search_at_their_own_cadence(can):
    estimator, T_true, frame, previous = searching_every_frame_with_the_turn_lost(can[0], spin_full_every_behind=2)
    rounds = search_frames_per_round(estimator.config.spin_register_steps, estimator.config.spin_track_turns)
    previous, took_over = track_behind(estimator, frame, previous, 2 * rounds)
    assert turn_error_deg(previous.T_cam_centered, T_true) < 2.5
    assert took_over.count(True) == 1 and took_over.index(True) % 2 == 1  # on a search frame: the 2nd, 4th, ...


def test_frames_tracked_back_neither_search_nor_use_up_the_catch_ups_round(can):
    """A registration tracked back through 15 frames (at most backfill_frames), then its catch-up."""
    estimator, T_true, frame, previous = searching_every_frame_with_the_turn_lost(can[0], spin_full_every_behind=4)
    for _ in range(15):
        back = estimator.track(frame, previous, behind=True, backwards=True)
        assert back.has_pose and estimator.search_turns() is None  # nothing for the next, newer, frame
    previous, took_over = track_behind(estimator, frame, previous, 3 * 4)  # one round: 3 search frames, every 4th
    assert turn_error_deg(previous.T_cam_centered, T_true) < 2.5
    assert took_over.count(True) == 1 and took_over.index(True) % 4 == 3  # on a search frame: the 4th, 8th, 12th


def test_with_no_search_behind_a_lost_turn_waits_for_a_frame_that_is_not_behind(can):
    estimator, T_true, frame, previous = searching_every_frame_with_the_turn_lost(can[0], spin_full_every_behind=0)
    for _ in range(4):  # more frames than a full round takes when each searches
        previous = estimator.track(frame, previous, behind=True)
        assert estimator.search_turns() is None
        assert previous.has_pose and turn_error_deg(previous.T_cam_centered, T_true) > 100.0
    rounds = search_frames_per_round(estimator.config.spin_register_steps, estimator.config.spin_track_turns)
    for _ in range(rounds + 1):
        previous = estimator.track(frame, previous)
        previous = estimator.search_turns() or previous
    assert turn_error_deg(previous.T_cam_centered, T_true) < 2.5


def test_registration_finds_the_turn(can):
    _, estimator = can
    T_true = can_pose(130.0)
    frame = frame_at(estimator, T_true, CAMERA)
    result = estimator.register(frame, frame.depth < 0.7)
    assert result.has_pose and turn_error_deg(result.T_cam_centered, T_true) < 5.0
