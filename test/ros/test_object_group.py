"""What the objects of one node share: one conversion per frame, one /tf message per frame (ROS-free)."""

import threading

import pytest

from fpose_ros.ros.object_group import SharedConversion, StampGrouper


def test_each_frame_is_converted_once_for_every_worker() -> None:
    calls: list[int] = []
    started = threading.Event()

    def convert(item: int) -> int:
        calls.append(item)
        started.wait(1.0)  # the other workers ask while this conversion runs
        return item * 10

    cache: SharedConversion[int, int] = SharedConversion(convert, size=4)
    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(cache.get(7, 7))) for _ in range(3)]
    for worker in workers:
        worker.start()
    started.set()
    for worker in workers:
        worker.join(2.0)
    assert results == [70, 70, 70] and calls == [7]


def test_a_failed_conversion_fails_for_every_worker_and_old_frames_are_forgotten() -> None:
    calls: list[int] = []

    def convert(item: int) -> int:
        calls.append(item)
        if item < 0:
            raise ValueError(f"bad frame {item}")
        return item

    cache: SharedConversion[int, int] = SharedConversion(convert, size=2)
    for _ in range(2):
        with pytest.raises(ValueError, match="bad frame -1"):
            cache.get(1, -1)
    assert calls == [-1]
    cache.get(2, 2), cache.get(3, 3)  # keeps the newest two
    cache.get(1, 1)
    assert calls == [-1, 2, 3, 1]


class Released:
    def __init__(self) -> None:
        self.messages: list[tuple[int, list[str]]] = []

    def __call__(self, stamp: int, items: list[str]) -> None:
        self.messages.append((stamp, sorted(items)))


def test_the_transforms_of_a_frame_go_out_together_once_every_tracking_object_reported() -> None:
    released = Released()
    group: StampGrouper[str] = StampGrouper(["a", "b", "c"], released)
    for name in "abc":  # each registers on frame 1; none tracked before, so none is waited for
        group.report(name, 1, f"{name}1", tracking=True)
    assert released.messages == [(1, ["a1"]), (1, ["b1"]), (1, ["c1"])]
    group.report("a", 2, "a2", tracking=True)
    group.report("c", 2, "c2", tracking=True)
    assert released.messages[3:] == []  # b is tracking in step: waited for
    group.report("b", 2, "b2", tracking=True)
    assert released.messages[3:] == [(2, ["a2", "b2", "c2"])]


def test_an_object_that_is_registering_or_catching_up_holds_nobody_back() -> None:
    released = Released()
    group: StampGrouper[str] = StampGrouper(["a", "b", "c"], released)
    for stamp in (1, 2):
        for name in "abc":
            group.report(name, stamp, f"{name}{stamp}", tracking=True)
    assert released.messages[3:] == [(2, ["a2", "b2", "c2"])]
    del released.messages[:2]
    group.report("c", 3, "c3-lost", tracking=False)  # c lost: registers for a while
    for stamp in (3, 4, 5):
        group.report("a", stamp, f"a{stamp}", tracking=True)
        group.report("b", stamp, f"b{stamp}", tracking=True)
    assert released.messages[2:] == [(3, ["a3", "b3", "c3-lost"]), (4, ["a4", "b4"]), (5, ["a5", "b5"])]
    group.report("c", 4, "c4", tracking=True)  # registered on frame 4, now catching up
    group.report("a", 6, "a6", tracking=True)
    group.report("b", 6, "b6", tracking=True)  # c is behind: not waited for
    group.report("c", 5, "c5", tracking=True)
    assert released.messages[5:] == [(4, ["c4"]), (6, ["a6", "b6"]), (5, ["c5"])]
    group.report("c", 6, "c6", tracking=True)  # caught up: late for 6, on its own
    group.report("a", 7, "a7", tracking=True)
    group.report("b", 7, "b7", tracking=True)
    assert released.messages[-1] == (6, ["c6"])  # 7 waits for c, in step again
    group.report("c", 7, "c7", tracking=True)
    assert released.messages[-1] == (7, ["a7", "b7", "c7"])


def test_a_skipped_frame_counts_as_reported_and_a_restart_forgets_the_stamps() -> None:
    released = Released()
    group: StampGrouper[str] = StampGrouper(["a", "b"], released)
    group.report("a", 1, "a1", tracking=True)
    group.report("b", 1, "b1", tracking=True)
    group.report("a", 2, "a2", tracking=True)
    group.report("b", 3, "b3", tracking=True)  # b skipped 2 (catching up): 2 goes out without it
    assert released.messages[2] == (2, ["a2"])
    group.reset()
    group.report("a", 5, "a5", tracking=True)  # a restarted stream: earlier stamps than before, not "late"
    assert released.messages[-1] == (5, ["a5"])
