"""The newest-frame slot between subscription callbacks and the worker thread."""

import threading
import time

from fpose_ros.ros.frame_pipeline import LatestSlot


def test_newest_item_wins_and_drops_are_counted() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take(0) == 3
    assert slot.dropped == 2
    assert slot.take(0) is None


def test_take_waits_for_a_producer_thread() -> None:
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    start = time.monotonic()
    assert slot.take(2.0) == "frame"
    assert time.monotonic() - start < 1.0


def test_wake_close_and_clear_release_the_consumer() -> None:
    slot: LatestSlot[int] = LatestSlot()
    threading.Timer(0.05, slot.wake).start()
    assert slot.take(2.0) is None
    slot.put(5)
    slot.clear()
    assert slot.take(0) is None and slot.dropped == 0
    slot.close()
    start = time.monotonic()
    assert slot.take(5.0) is None and slot.closed
    assert time.monotonic() - start < 1.0


def test_slow_consumer_never_sees_a_backlog() -> None:
    slot: LatestSlot[int] = LatestSlot()
    seen: list[int] = []

    def consume() -> None:
        while not slot.closed:
            item = slot.take(0.5)
            if item is not None:
                seen.append(item)
                time.sleep(0.02)

    worker = threading.Thread(target=consume)
    worker.start()
    for i in range(50):
        slot.put(i)
        time.sleep(0.002)
    time.sleep(0.1)
    slot.close()
    worker.join()
    assert seen[-1] == 49 and seen == sorted(seen)
    assert len(seen) + slot.dropped == 50
    assert slot.dropped > 25
