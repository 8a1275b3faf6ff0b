"""The object workers' threads: tracked frames one at a time, registrations beside them (no DDS, no engine)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from fpose_ros.ros.frame_scheduler import FrameSchedulerConfig, Job, JobKind
from fpose_ros.ros.object_worker import ObjectWorker, WorkerShared, registration_threads

FRAME_NS = 33_333_333


def _shared() -> WorkerShared:
    return WorkerShared(frames=None, group=None, scheduler_config=FrameSchedulerConfig(),  # type: ignore[arg-type]
                        make_tracker=None, warn=None, logger=None,  # type: ignore[arg-type]
                        mask_topic=lambda topic: topic, detections_2d_topic="detections_2d")


def _worker(name: str, shared: WorkerShared) -> ObjectWorker:
    config = SimpleNamespace(name=name, mask_source="mask")
    return ObjectWorker(config, None, None, None, shared)  # type: ignore[arg-type]


def test_tracked_frames_of_several_objects_run_one_at_a_time_and_a_registration_beside_them(monkeypatch) -> None:
    lock = threading.Lock()
    tracked: list[tuple[str, float, float]] = []  # (object, start, end)
    tracked_during_registration = threading.Event()
    registering = threading.Event()

    def process(self: ObjectWorker, job: Job) -> None:
        if job.kind is JobKind.REGISTER:
            registering.set()
            # Returns only once another object tracked meanwhile: a registration holding the tracking
            # lock would wait here for the whole timeout.
            tracked_during_registration.wait(timeout=2.0)
            registering.clear()
            return
        start = time.perf_counter()
        time.sleep(0.01)
        if registering.is_set():
            tracked_during_registration.set()
        with lock:
            tracked.append((self.config.name, start, time.perf_counter()))

    monkeypatch.setattr(ObjectWorker, "_process", process)
    shared = _shared()
    workers = [_worker(name, shared) for name in ("a", "b", "c")]
    try:
        workers[2].scheduler.push_mask(FRAME_NS, "mask")  # c registers on its first frame
        for k in range(1, 7):
            for worker in workers:
                worker.scheduler.push_frame(k * FRAME_NS, f"frame {k}")
            time.sleep(0.02)
        deadline = time.monotonic() + 5.0
        while len(tracked) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        for worker in workers:
            worker.close()
    assert tracked_during_registration.is_set()
    spans = sorted((start, end) for _, start, end in tracked)
    assert len(spans) >= 10
    assert {name for name, _, _ in tracked} >= {"a", "b"}
    overlaps = [(s0, e0, s1) for (s0, e0), (s1, _) in zip(spans, spans[1:], strict=False) if s1 < e0]
    assert overlaps == []



def test_a_registration_leaves_one_core_to_the_executor_unless_the_user_set_the_threads() -> None:
    assert registration_threads(2, user_set=False) == 1
    assert registration_threads(16, user_set=False) == 15
    assert registration_threads(1, user_set=False) == 1
    assert registration_threads(2, user_set=True) == 2
