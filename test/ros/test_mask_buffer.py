"""Stamp matching of masks and frames."""

import pytest

from fpose_ros.ros.mask_buffer import StampedBuffer, newest_pair

MS = 1_000_000


def test_closest_within_tolerance() -> None:
    buf: StampedBuffer[str] = StampedBuffer(5)
    for t in (0, 33, 66):
        buf.add(t * MS, f"m{t}")
    assert buf.closest(34 * MS, 2 * MS) == "m33"
    assert buf.closest(50 * MS, 2 * MS) is None
    assert buf.closest(68 * MS, 2 * MS) == "m66"


def test_capacity_drops_oldest() -> None:
    buf: StampedBuffer[int] = StampedBuffer(2)
    for t in range(3):
        buf.add(t, t)
    assert len(buf) == 2 and buf.closest(0, 0) is None
    with pytest.raises(ValueError):
        StampedBuffer(0)


def test_newest_frame_with_a_mask_is_paired() -> None:
    frames: StampedBuffer[str] = StampedBuffer(30)
    masks: StampedBuffer[str] = StampedBuffer(10)
    for i in range(10):
        frames.add(i * 33 * MS, f"f{i}")
    assert newest_pair(frames, masks, MS) is None
    masks.add(99 * MS, "mask3")   # late mask for frame 3
    masks.add(165 * MS, "mask5")  # late mask for frame 5
    masks.add(500 * MS, "future")  # no frame yet
    assert newest_pair(frames, masks, MS) == (165 * MS, "f5", "mask5")


def test_discard_until_forgets_the_past() -> None:
    buf: StampedBuffer[int] = StampedBuffer(10)
    for t in range(5):
        buf.add(t, t)
    buf.discard_until(2)
    assert [s for s, _ in buf.newest_first()] == [4, 3]
    buf.clear()
    assert len(buf) == 0
