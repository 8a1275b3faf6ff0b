"""FrameScheduler: stamped frames and masks in any order and timing -> the engine's next job."""

from __future__ import annotations

import pytest

from fpose_ros.ros.frame_scheduler import FrameScheduler, FrameSchedulerConfig, Job, JobKind

MS = 1_000_000
PERIOD = 33 * MS


def make(**overrides: float) -> FrameScheduler[int, str]:
    return FrameScheduler(FrameSchedulerConfig(**overrides))


def run(sched: FrameScheduler[int, str], tracking_after: bool = True, cost_s: float = 0.005,
        posed: bool | None = None) -> Job[int, str]:
    """The next job, reported done; the frame got a pose where the tracker tracks after it (unless ``posed``)."""
    job = sched.next_job(timeout=0)
    assert job is not None
    sched.done(job, tracking=tracking_after, posed=tracking_after if posed is None else posed, processing_s=cost_s)
    return job


def test_mask_with_newest_frame_bridges_from_the_frame_after_it() -> None:
    """The issue's bug: mask present while its frame is the newest -> track the next frame, not the newest."""
    sched = make()
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    assert run(sched).kind is JobKind.REGISTER
    for k in range(1, 10):  # arrived while registering
        sched.push_frame(k * PERIOD, k)
    assert run(sched).frame == 1


@pytest.mark.parametrize("mask_offset_ms", [-30, 0, 100, 300])
def test_every_mask_timing_registers_on_its_frame_and_tracks_every_later_frame(mask_offset_ms: int) -> None:
    sched = make()
    events = [(k * PERIOD, "frame", k) for k in range(30)] + [(4 * PERIOD + mask_offset_ms * MS, "mask", 4)]
    processed: list[tuple[JobKind, int]] = []
    for _at, kind, k in sorted(events, key=lambda e: (e[0], e[1] == "frame")):
        if kind == "frame":
            sched.push_frame(k * PERIOD, k)
        else:
            sched.push_mask(4 * PERIOD, "m4")
        while (job := sched.next_job(timeout=0)) is not None:
            tracking = job.kind is JobKind.REGISTER or sched.tracking
            sched.done(job, tracking=tracking, posed=tracking, processing_s=0.005)
            processed.append((job.kind, job.frame))
    registrations = [frame for kind, frame in processed if kind is JobKind.REGISTER]
    assert registrations == [4]
    after = [frame for kind, frame in processed[processed.index((JobKind.REGISTER, 4)) + 1:]]
    assert after == list(range(5, 30))


def test_masks_at_3hz_register_once_then_track_in_order() -> None:
    sched = make()
    tracked: list[int] = []
    for k in range(60):
        sched.push_frame(k * PERIOD, k)
        if k % 10 == 0:
            sched.push_mask(k * PERIOD, f"m{k}")
        while (job := sched.next_job(timeout=0)) is not None:
            sched.done(job, tracking=True, posed=True, processing_s=0.005)
            if job.kind is JobKind.TRACK:
                tracked.append(job.frame)
    assert tracked == list(range(1, 60))


def test_backlog_beyond_the_budget_is_skipped_evenly() -> None:
    sched = make(catch_up_budget_s=0.5, cost_samples=1)
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    run(sched, cost_s=0.030)
    for k in range(1, 90):
        sched.push_frame(k * PERIOD, k)
    run(sched, cost_s=0.030)  # learns the cost of a tracked frame
    job = sched.next_job(timeout=0)
    assert job is not None and job.frame > 2
    assert sched.skipped > 0


def test_loss_discards_older_frames_and_masks_and_waits_for_a_new_mask() -> None:
    sched = make()
    for k in range(5):
        sched.push_frame(k * PERIOD, k)
    sched.push_mask(0, "m0")
    assert run(sched).kind is JobKind.REGISTER
    assert run(sched, tracking_after=False).frame == 1  # lost on frame 1
    job = run(sched, tracking_after=False)
    assert (job.kind, job.frame) == (JobKind.TRACK, 4)
    sched.push_mask(3 * PERIOD, "m3")  # frame 3 came after the loss: still held, registers
    assert run(sched).kind is JobKind.REGISTER


def test_stamps_jumping_back_clear_the_history() -> None:
    sched = make()
    for k in range(5):
        sched.push_frame(10_000 * MS + k * PERIOD, k)
    sched.push_mask(10_000 * MS, "old")
    run(sched)
    assert sched.push_frame(0, 100) is True
    assert len(sched) == 1 and not sched.tracking
    job = run(sched, tracking_after=False)
    assert (job.kind, job.frame) == (JobKind.TRACK, 100)
    sched.push_mask(0, "new")
    assert run(sched).mask == "new"


def test_reset_registers_again_on_the_next_mask_and_bridges() -> None:
    sched = make()
    for k in range(3):
        sched.push_frame(k * PERIOD, k)
    sched.push_mask(0, "m0")
    run(sched)
    sched.reset()
    for k in range(3, 8):
        sched.push_frame(k * PERIOD, k)
    job = run(sched, tracking_after=False)
    assert (job.kind, job.frame) == (JobKind.TRACK, 7)
    sched.push_mask(5 * PERIOD, "m5")
    assert run(sched).frame == 5
    assert [run(sched).frame for _ in range(2)] == [6, 7]


def test_history_is_bounded() -> None:
    sched = make(history_size=90)
    for k in range(500):
        sched.push_frame(k * PERIOD, k)
    assert len(sched) == 90


def test_next_job_returns_none_when_woken_or_closed() -> None:
    sched = make()
    sched.wake()
    assert sched.next_job(timeout=5) is None
    sched.close()
    sched.push_frame(0, 0)
    assert sched.next_job(timeout=5) is None and sched.closed


def test_one_slow_frame_after_registration_does_not_make_tracking_jump() -> None:
    """Live, loaded machine: the registration took 2 s and the first tracked frame 0.2 s (it renders afresh).

    Stepping by that one frame's cost (7 frames = 42 deg at 180 deg/s) lost the object. The catch-up
    tracks every frame until ``cost_samples`` frames tell the cost, then steps at most
    ``max_catch_up_stride`` frames unless their median says the engine cannot keep up with the stream.
    """
    sched = make(catch_up_budget_s=1.0)
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    assert run(sched, cost_s=2.0).kind is JobKind.REGISTER
    for k in range(1, 61):  # arrived while registering
        sched.push_frame(k * PERIOD, k)
    assert run(sched, cost_s=0.200).frame == 1
    tracked = [run(sched, cost_s=0.010).frame for _ in range(8)]
    assert tracked == list(range(2, 10))  # every frame until 9 tracked frames tell the cost
    tracked = [run(sched, cost_s=0.030).frame for _ in range(10)]
    steps = [b - a for a, b in zip([9, *tracked], tracked, strict=False)]
    assert max(steps) <= 2  # the default max_catch_up_stride: every other frame at most


def test_a_tracking_job_says_whether_newer_frames_wait() -> None:
    """The catch-up's frames are tracked ``behind`` (optional work waits); the newest frame is not."""
    sched = make()
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    run(sched)
    for k in range(1, 4):  # arrived while registering
        sched.push_frame(k * PERIOD, k)
    assert [(job.frame, job.behind) for job in (run(sched) for _ in range(3))] == [(1, True), (2, True), (3, False)]
    sched.push_frame(4 * PERIOD, 4)
    assert not run(sched).behind


def test_an_engine_slower_than_the_stream_steps_as_far_as_keeping_up_needs() -> None:
    sched = make(cost_samples=3)
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    run(sched)
    for k in range(1, 61):
        sched.push_frame(k * PERIOD, k)
    frames = [run(sched, cost_s=0.150).frame for _ in range(4)]
    assert frames[-1] - frames[-2] >= 5  # 150 ms per frame at 33 ms frames: every 5th frame at least


def eight_frames_masks_on_0_3_6() -> FrameScheduler[int, str]:
    sched = make()
    for k in range(8):
        sched.push_frame(k * PERIOD, k)
    for k in (0, 3, 6):
        sched.push_mask(k * PERIOD, f"m{k}")
    return sched


def test_registers_on_the_oldest_new_mask_so_the_frames_after_it_get_poses() -> None:
    """A fast object lost right after a registration: registering on the newest mask left 0.5 s without poses."""
    sched = eight_frames_masks_on_0_3_6()
    first = run(sched)
    assert (first.frame, first.other_mask) == (0, (3, "m3"))  # the next mask gives the velocity
    assert run(sched).frame == 1
    run(sched, tracking_after=False)  # lost on frame 2
    for k in range(8, 16):
        sched.push_frame(k * PERIOD, k)
    for k in (9, 12, 15):
        sched.push_mask(k * PERIOD, f"m{k}")
    job = run(sched)
    assert (job.kind, job.frame) == (JobKind.REGISTER, 3)
    assert [run(sched).frame for _ in range(12)] == list(range(4, 16))


def test_after_a_failed_registration_the_newest_mask_with_the_one_before_it() -> None:
    """The older masks show the object as the failed one did; the one before the newest gives the velocity."""
    sched = eight_frames_masks_on_0_3_6()
    assert run(sched, tracking_after=False).frame == 0
    job = run(sched)
    assert (job.kind, job.frame, job.mask, job.other_mask) == (JobKind.REGISTER, 6, "m6", (3, "m3"))
    lone = make()
    lone.push_frame(0, 0)
    lone.push_mask(0, "m0")
    assert run(lone).other_mask is None  # the only mask: no velocity


def test_a_registration_carries_the_frames_back_to_the_last_tracked_one_newest_first() -> None:
    """Tracked 0-2, lost on 3; the object returns and its first mask is frame 9's: frames 8 down to 3 come along.

    Frame 3 got no pose: the registered pose may reach it (``ObjectTracker.track_back`` stops where it does not).
    """
    sched = make()
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    first = run(sched)
    assert first.kind is JobKind.REGISTER and first.earlier == ()  # nothing before the very first frame
    for k in range(1, 4):
        sched.push_frame(k * PERIOD, k)
    run(sched), run(sched)
    assert run(sched, tracking_after=False).frame == 3  # lost
    for k in range(4, 10):
        sched.push_frame(k * PERIOD, k)
        if k < 9:
            assert run(sched, tracking_after=False).kind is JobKind.TRACK  # waiting for a mask
    sched.push_mask(9 * PERIOD, "m9")
    job = run(sched)
    assert (job.kind, job.frame) == (JobKind.REGISTER, 9)
    assert [frame for _stamp, frame in job.earlier] == [8, 7, 6, 5, 4, 3]
    assert [stamp for stamp, _frame in job.earlier] == [k * PERIOD for k in (8, 7, 6, 5, 4, 3)]


def test_frames_whose_tracking_failed_before_a_loss_come_along_with_the_next_registration() -> None:
    """Tracked 1-4 with poses, 5 and 6 failed (6 lost) while the object stayed in view; frame 7's mask registers.

    The drift that failed 5 and 6 was the tracker's, not the object's: the registration on 7 carries 6 and 5,
    and not 4 (it has its pose), nor a mask from before the loss.
    """
    sched = make()
    sched.push_frame(0, 0)
    sched.push_mask(0, "m0")
    run(sched)
    for k in range(1, 7):
        sched.push_frame(k * PERIOD, k)
    sched.push_mask(3 * PERIOD, "m3")  # late: arrives after frame 3 was tracked
    for k in range(1, 5):
        assert run(sched).frame == k
    assert run(sched, posed=False).frame == 5  # not confirmed: still tracking, no pose
    assert run(sched, tracking_after=False).frame == 6  # lost
    sched.push_frame(7 * PERIOD, 7)
    assert run(sched, tracking_after=False).kind is JobKind.TRACK  # m3 went with the loss: waiting for a mask
    sched.push_mask(4 * PERIOD, "m4")  # late, after the loss: the object may have left since
    assert sched.next_job(timeout=0) is None  # not registered on
    sched.push_frame(8 * PERIOD, 8)
    sched.push_mask(8 * PERIOD, "m8")
    job = run(sched)
    assert (job.kind, job.frame) == (JobKind.REGISTER, 8)
    assert [frame for _stamp, frame in job.earlier] == [7, 6, 5]


def test_the_frames_carried_back_are_bounded() -> None:
    sched = make(backfill_frames=3)
    for k in range(10):
        sched.push_frame(k * PERIOD, k)
    sched.push_mask(9 * PERIOD, "m9")
    assert [frame for _stamp, frame in run(sched).earlier] == [8, 7, 6]
    off = make(backfill_frames=0)
    for k in range(3):
        off.push_frame(k * PERIOD, k)
    off.push_mask(2 * PERIOD, "m2")
    assert run(off).earlier == ()
