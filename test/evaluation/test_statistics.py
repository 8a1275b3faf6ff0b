"""Scoring what the node published: re-acquisition, catch-up, latency outside it, losses, targets."""

import math

import numpy as np
import pytest

from fpose_ros.evaluation.statistics import (
    FrameRecord,
    StatusEvent,
    Target,
    catch_up_flags,
    evaluate,
    failed_targets,
    latency_outside_catch_up_ms,
    loop_windows,
    losses,
    losses_after_registration,
    output_rate_hz,
    percentile,
    reacquisition_delays,
    relative_change,
    scenario_figures,
)
from fpose_ros.evaluation.tables import format_replay_table, format_scenario_table

POSE = np.eye(4)


def record(i: int, mode: str = "tracking", pose: bool = True, masked: bool = False, late_s: float = 0.02
           ) -> FrameRecord:
    published = i / 30
    return FrameRecord(stamp_ns=i, published_s=published, pose=POSE if pose else None,
                       pose_received_s=published + late_s if pose else None, mode=mode, masked=masked)


def test_delay_runs_from_the_first_mask_after_the_loss_to_the_next_pose():
    records = [record(0, masked=True), record(1), record(2, "lost", pose=False),
               record(3, "lost", pose=False, masked=False), record(4, "lost", pose=False, masked=True),
               record(5, "lost", pose=False), record(6, late_s=0.3), record(7, "lost", pose=False), record(8)]
    # Frame 7 reports "lost" only because it was processed before the registration of frame 6
    # finished; without a mask after it, it is not a second loss.
    delays = reacquisition_delays(records)
    assert len(delays) == 1 and np.isclose(delays[0], 6 / 30 + 0.3 - 4 / 30)
    records[4].mask_published_s = 4 / 30 + 0.1  # a mask published 100 ms after its frame: the clock starts then
    assert np.isclose(reacquisition_delays(records)[0], 6 / 30 + 0.3 - 4 / 30 - 0.1)


def test_the_frame_with_the_mask_can_be_the_one_posed():
    records = [record(0), record(1, "lost", pose=False), record(2, "lost", pose=False), record(3, masked=True)]
    delays = reacquisition_delays(records)
    assert len(delays) == 1 and np.isclose(delays[0], 0.02)


def test_poses_tracked_back_before_the_mask_do_not_end_the_loss():
    # Frames 3 and 4 got poses tracked back from the registration on frame 5's mask, sent with it.
    records = [record(0), record(1, "lost", pose=False), record(2, "lost", pose=False),
               record(3, late_s=0.3), record(4, late_s=0.27), record(5, masked=True, late_s=0.24)]
    delays = reacquisition_delays(records)
    assert len(delays) == 1 and np.isclose(delays[0], 0.24)


def test_no_loss_or_no_mask_gives_no_delay():
    assert reacquisition_delays([record(i) for i in range(5)]) == []
    assert reacquisition_delays([record(0), record(1, "lost", pose=False), record(2, "lost", pose=False)]) == []


def test_from_view_the_clock_starts_when_the_object_is_back_and_poses_while_away_do_not_count():
    records = [record(0), record(1), record(2, pose=True), record(3, "lost", pose=False),
               record(4, "lost", pose=False), record(5, "lost", pose=False), record(6, late_s=0.01)]
    for i in (2, 3):
        records[i].in_view = False  # frame 2 still got a (wrong) pose while the object was away
    delays = reacquisition_delays(records, clock_from="view")
    assert len(delays) == 1 and np.isclose(delays[0], 6 / 30 + 0.01 - 4 / 30)
    # No mask after the loss: the node's clock never starts, the ground truth's does.
    assert reacquisition_delays(records) == []
    with pytest.raises(ValueError, match="clock_from"):
        reacquisition_delays(records, clock_from="pose")


def test_table_prints_each_delay():
    records = [record(0), record(1, "lost", pose=False), record(2, "lost", pose=False, masked=True), record(3)]
    summary = evaluate(records, None)
    assert len(summary.reacquire_s) == 1
    assert "re-acquired after" in format_replay_table(summary)
    assert f"{summary.reacquire_s[0]:.2f} s" in format_replay_table(summary)


# ---------------------------------------------------------------- catch-up, losses, targets (live benchmark)

PERIOD = 1 / 30


def live_records(n: int, registered: int, registration_s: float, track_s: float, steady_latency_s: float,
                 ) -> list[FrameRecord]:
    """A node that registers frame ``registered`` in ``registration_s``, then tracks the later frames.

    Every later frame takes ``track_s``, one after the other, until the node is level with the camera
    (latency ``steady_latency_s``).
    """
    records = [FrameRecord(stamp_ns=i, published_s=i * PERIOD) for i in range(n)]
    done = records[registered].published_s + registration_s
    records[registered].pose, records[registered].pose_received_s = POSE, done
    records[registered].hypotheses = 252
    for r in records[registered + 1:]:
        done = max(done + track_s, r.published_s + steady_latency_s)
        r.pose, r.pose_received_s, r.hypotheses = POSE, done, 1
    return records


def test_catch_up_is_the_registration_and_the_backlog_it_left():
    records = live_records(40, registered=2, registration_s=0.4, track_s=0.005, steady_latency_s=0.008)
    flags = catch_up_flags(records)
    backlog = [i for i, r in enumerate(records)
               if r.pose is not None and i + 1 < len(records) and records[i + 1].published_s < r.pose_received_s]
    assert flags[2] and not any(flags[:2])
    # Frames 3.. were waiting while frame 2 registered; the first pose received before its next frame
    # was published ends the catch-up, and nothing after it is in one.
    end = next(i for i in range(3, 40) if i not in backlog)
    assert all(flags[3:end]) and not any(flags[end:])
    assert end > 10  # 0.4 s of registration left a real backlog


def test_latency_outside_the_catch_up_leaves_out_the_registration_and_its_backlog():
    records = live_records(60, registered=2, registration_s=0.4, track_s=0.005, steady_latency_s=0.008)
    steady_p90, inside = latency_outside_catch_up_ms(records)
    assert inside == sum(catch_up_flags(records)) > 1
    assert steady_p90 == pytest.approx(8.0)
    assert percentile([r.latency_ms for r in records], 90) > 2 * steady_p90


def test_a_replay_summary_carries_the_latency_outside_the_catch_up():
    records = live_records(60, registered=2, registration_s=0.4, track_s=0.005, steady_latency_s=0.008)
    summary = evaluate(records, None)
    assert summary.latency_p90_outside_catch_up_ms == pytest.approx(8.0)
    assert summary.latency_p90_ms > 2 * summary.latency_p90_outside_catch_up_ms
    assert "latency p90 outside catch-up  8.0 ms" in format_replay_table(summary)


def test_catch_up_ends_at_the_budget_when_the_node_never_levels():
    # Tracking takes longer than a frame period: the node never catches up, which must show.
    records = live_records(90, registered=0, registration_s=0.1, track_s=0.05, steady_latency_s=0.0)
    flags = catch_up_flags(records, budget_s=0.5)
    flagged = [r for r, f in zip(records, flags, strict=True) if f]
    assert flagged[-1].pose_received_s - records[0].pose_received_s <= 0.5
    assert not all(flags[1:])
    assert math.isfinite(latency_outside_catch_up_ms(records, budget_s=0.5)[0])


def test_a_second_registration_starts_a_new_catch_up():
    records = live_records(40, registered=2, registration_s=0.2, track_s=0.005, steady_latency_s=0.008)
    records[30].hypotheses = 252
    shift = 0.3
    for r in records[30:]:
        r.pose_received_s += shift
    flags = catch_up_flags(records)
    assert flags[30] and flags[31] and not flags[29]


def test_frames_tracked_back_from_a_registration_are_in_its_catch_up():
    # Frames 0-1 tracked on time; 2-4 got no pose; frame 5 registered, then 3 and 4 tracked back from it,
    # their poses sent (just) before the registered one's.
    records = live_records(30, registered=5, registration_s=0.3, track_s=0.005, steady_latency_s=0.008)
    for i in (0, 1):
        records[i].pose, records[i].pose_received_s, records[i].hypotheses = POSE, i * PERIOD + 0.008, 1
    for i in (3, 4):
        records[i].pose, records[i].pose_received_s, records[i].hypotheses = POSE, records[5].pose_received_s, 1
    flags = catch_up_flags(records)
    assert flags[3] and flags[4] and flags[5]
    assert not any(flags[:3])  # frames 0-1 were posed on time, before frame 5 existed


def test_frames_without_a_pose_are_never_in_the_catch_up():
    records = live_records(20, registered=5, registration_s=0.3, track_s=0.005, steady_latency_s=0.008)
    records[7].pose = records[7].pose_received_s = None
    assert not catch_up_flags(records)[7] and not any(catch_up_flags(records)[:5])


def events(*spec: tuple[int, str, int]) -> list[StatusEvent]:
    """(stamp, mode, hypotheses) in arrival order; a pose wherever the mode is "tracking"."""
    return [StatusEvent(stamp, mode, mode == "tracking", hyps, f"why {stamp}") for stamp, mode, hyps in spec]


def test_losses_count_each_turn_to_lost_after_tracking_once():
    found = losses(events((0, "lost", 0), (1, "registering", 0), (2, "tracking", 252), (3, "lost", 1),
                          (4, "lost", 0), (5, "tracking", 252), (6, "lost", 1)))
    assert [e.stamp_ns for e in found] == [3, 6]
    assert found[0].message == "why 3"


def test_losses_after_registration_count_only_near_visible_ones():
    stream = events((2, "tracking", 252), *[(i, "tracking", 1) for i in range(3, 12)], (12, "lost", 1),
                    (20, "tracking", 252), *[(i, "tracking", 1) for i in range(21, 40)], (40, "lost", 1),
                    (41, "tracking", 252), (43, "lost", 1))
    index = {stamp: stamp for stamp in range(50)}
    early = losses_after_registration(stream, index)
    assert [e.stamp_ns for e in early] == [12, 43]  # 10 and 2 frames after; 40 is 20 frames after
    visible = [True] * 50
    visible[43] = False  # the object left the view: losing it is right
    assert [e.stamp_ns for e in losses_after_registration(stream, index, visible)] == [12]
    visible[13] = False  # gone on the frame after the loss: it was leaving the view
    assert losses_after_registration(stream, index, visible) == []
    assert [e.stamp_ns for e in losses_after_registration(stream, index, within=9)] == [43]


def test_targets_fail_on_a_missing_or_nan_figure():
    targets = [Target("coverage", ">=", 0.95), Target("latency_ms", "<=", 33.0)]
    assert failed_targets({"coverage": 0.96, "latency_ms": 33.0}, targets) == []
    assert failed_targets({"coverage": 0.94, "latency_ms": math.nan}, targets) == [str(t) for t in targets]
    assert failed_targets({}, targets[:1]) == ["coverage >= 0.95"]


def scene(i: int, adds: float | None, in_view: bool = True, masked: bool = False, hypotheses: int = 1
          ) -> FrameRecord:
    """Frame ``i`` with ADD-S ``adds`` metres (None: no pose)."""
    r = record(i, pose=adds is not None, masked=masked)
    r.adds, r.in_view, r.hypotheses = (math.inf if adds is None else adds), in_view, hypotheses
    return r


def test_occlusion_figures_count_by_the_visible_fraction():
    # Diameter 0.2 m: a pose is wrong above 0.02 m.
    fractions = [1.0, 0.6, 0.3, 0.2, 0.05, 0.0, 0.05, 0.4, 1.0]
    adds = [0.001, 0.001, None, None, 0.001, None, None, 0.03, 0.001]
    f = scenario_figures([scene(i, a) for i, a in enumerate(adds)], 0.2, fractions, kind="occluder")
    assert f.coverage_shown == pytest.approx(4 / 5)  # frames 0, 1, 2, 7, 8 show >= 30 %; 2 has no pose
    assert f.poses_hidden == 1  # frame 4
    assert f.wrong_poses == 1  # frame 7
    assert f.coverage_visible == pytest.approx(5 / 9)
    assert f.registrations_after_return is None  # always in view
    assert f.failed() == ["coverage_shown >= 0.95", "poses_hidden <= 0", "wrong_poses <= 0"]
    assert "occluder: FAIL" in format_scenario_table([("run", f)])


def test_return_figures_count_registrations_and_time_the_first_correct_pose_from_the_first_mask():
    records = [scene(0, 0.001, masked=True, hypotheses=252), scene(1, 0.001), scene(2, None, in_view=False),
               scene(3, None, in_view=False), scene(4, None), scene(5, None, masked=True),
               scene(6, 0.05, hypotheses=252), scene(7, None), scene(8, None, masked=True),
               scene(9, 0.001, hypotheses=252), scene(10, 0.001)]
    f = scenario_figures(records, 0.2, kind="exit_and_return")
    assert f.registrations_after_return == 2  # register -> lost -> register
    assert f.first_correct_after_return_s == pytest.approx((9 - 5) / 30 + 0.02)  # frame 9's pose, frame 5's mask
    records[5].mask_published_s = 5 / 30 + 0.3  # the mask came 300 ms after its frame: the clock starts then
    assert scenario_figures(records, 0.2, kind="exit_and_return").first_correct_after_return_s == \
        pytest.approx((9 - 5) / 30 + 0.02 - 0.3)
    assert f.poses_hidden is None and math.isnan(f.coverage_shown)  # no visible fractions given
    assert f.failed() == ["registrations_after_return <= 1", "coverage_visible >= 0.95", "wrong_poses <= 0"]
    good = scenario_figures([scene(0, 0.001, masked=True, hypotheses=252), scene(1, None, in_view=False),
                             scene(2, None, masked=True), scene(3, 0.001, hypotheses=252), scene(4, 0.001)],
                            0.2, kind="exit_and_return")
    assert good.registrations_after_return == 1 and good.failed() == ["coverage_visible >= 0.95"]
    assert scenario_figures(records, 0.2).failed() == []  # no scenario: nothing applies
    unmeasured = scenario_figures(records, 0.2, kind="occluder")  # an occluder without visible fractions
    assert not unmeasured.judged and unmeasured.failed() == []
    assert format_scenario_table([("run", unmeasured)]).splitlines()[-1].rstrip().endswith("n/a")


def test_output_rate_leaves_out_the_time_out_of_view_but_not_frames_skipped_in_view():
    # 30 frames in view, 30 out of view (no pose), 30 in view; a pose for every frame in view.
    every = [record(i, pose=(i // 30) != 1) for i in range(90)]
    for r in every[30:60]:
        r.in_view = False
    assert output_rate_hz(every) == pytest.approx(30.0)
    # First to last pose would have counted the second away: 59 poses over 89 frame periods, about 20 Hz.
    assert (59 - 1) / (89 / 30) < 29.0
    # A node that publishes two frames of every three while the object is in view: 20 Hz, failing 29 Hz.
    sparse = [record(i, pose=(i // 30) != 1 and i % 3 != 2) for i in range(90)]
    for r in sparse[30:60]:
        r.in_view = False
    assert output_rate_hz(sparse) == pytest.approx(20.0, rel=0.05)
    assert output_rate_hz(sparse) < 29.0
    # In view throughout (a replay without ground truth): first to last pose, a pause included.
    paused = [record(i, pose=not 30 <= i < 60) for i in range(90)]
    assert output_rate_hz(paused) == pytest.approx(59 / (89 / 30))
    assert math.isnan(output_rate_hz([record(0)]))


def soak_records(loops: int, frames: int, registered: int, registration_s: float, first_registration_s: float,
                 leftover: int = 0) -> list[FrameRecord]:
    """A soak: ``loops`` loops of ``frames`` frames (then ``leftover`` frames of one more), published back to back.

    Frame ``registered`` of every loop is registered in ``registration_s`` (the node tracks everything
    else, 5 ms a frame, steady latency 8 ms); the first loop registers its first frame too, in
    ``first_registration_s``, as the soak's node does on the stream's first mask.
    """
    records = [FrameRecord(stamp_ns=i, published_s=i * PERIOD) for i in range(loops * frames + leftover)]
    done = 0.0
    for i, r in enumerate(records):
        took = (first_registration_s if i == 0 else registration_s if i % frames == registered else None)
        r.hypotheses = 1 if took is None else 252
        done = max(done, r.published_s) + took if took is not None else max(done + 0.005, r.published_s + 0.008)
        r.pose, r.pose_received_s = POSE, done
    return records


def test_soak_minutes_are_whole_loops_and_the_last_one_is_the_last_loops():
    records = soak_records(loops=5, frames=60, registered=20, registration_s=0.3, first_registration_s=0.6,
                           leftover=25)
    windows = loop_windows(records, frames_per_loop=60, loops_per_window=2)
    # Loops 0-1 and 2-3, then the last two (3-4) overlapping the one before; the 25 frames of a
    # sixth loop that never finished belong to none.
    assert [(w.first_loop, w.loops) for w in windows] == [(0, 2), (2, 2), (3, 2)]
    assert [w.poses for w in windows] == [120, 120, 120]
    assert windows[1].start_s == pytest.approx(120 * PERIOD)
    assert windows == loop_windows(records[:300], frames_per_loop=60, loops_per_window=2)


def test_a_minute_with_one_registration_more_is_slower_over_all_poses_but_not_steady():
    records = soak_records(loops=6, frames=60, registered=20, registration_s=0.3, first_registration_s=0.6)
    first, second, last = loop_windows(records, frames_per_loop=60, loops_per_window=2)
    assert (first.registrations, second.registrations, last.registrations) == (3, 2, 2)
    assert first.catch_up_poses > second.catch_up_poses == last.catch_up_poses > 2
    # The extra, slower registration and its backlog raise the p90 over every pose...
    assert first.p90_all_ms > 1.5 * second.p90_all_ms
    assert second.p90_all_ms == pytest.approx(last.p90_all_ms)
    # ... while the poses outside catch-up, and the catch-ups alike, show the node no slower.
    assert first.p90_steady_ms == pytest.approx(second.p90_steady_ms) == pytest.approx(8.0)
    assert second.p90_catch_up_ms == pytest.approx(last.p90_catch_up_ms)


def test_a_catch_up_across_a_loops_end_counts_in_the_minute_it_falls_in():
    records = soak_records(loops=4, frames=60, registered=58, registration_s=0.4, first_registration_s=0.0)
    windows = loop_windows(records, frames_per_loop=60, loops_per_window=1)
    flags = catch_up_flags(records)
    # The backlog after loop 1's registration (frame 58) runs into loop 2's first frames.
    assert any(flags[120:130])
    assert windows[2].catch_up_poses == sum(flags[120:180])


def test_soak_minutes_reject_empty_loops():
    with pytest.raises(ValueError):
        loop_windows([], frames_per_loop=0, loops_per_window=1)


def test_relative_change_is_a_fraction_and_nan_without_a_positive_reference():
    assert relative_change(110.0, 100.0) == pytest.approx(0.10)
    assert relative_change(140.9, 171.2) == pytest.approx(-0.177, abs=1e-3)
    assert math.isnan(relative_change(1.0, 0.0)) and math.isnan(relative_change(math.nan, 1.0))
