"""Matching masks to frames by header stamp.

Masks come from a separate segmenter, at their own (lower) rate and usually late: a
mask for the frame stamped t arrives after that frame. The node keeps the last frames and
the last masks in two :class:`StampedBuffer` s; registration uses the newest frame that has
a mask (:func:`newest_pair`), tracking uses the newest frame with or without one.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")


class StampedBuffer(Generic[T]):
    """The last ``capacity`` items, each with a stamp in integer nanoseconds; thread-safe."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._items: deque[tuple[int, T]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, stamp_ns: int, item: T) -> None:
        with self._lock:
            self._items.append((stamp_ns, item))

    def closest(self, stamp_ns: int, tolerance_ns: int) -> T | None:
        """The item whose stamp is nearest to ``stamp_ns``, if within ``tolerance_ns`` (inclusive)."""
        with self._lock:
            best = min(self._items, key=lambda entry: abs(entry[0] - stamp_ns), default=None)
        if best is None or abs(best[0] - stamp_ns) > tolerance_ns:
            return None
        return best[1]

    def newest_first(self) -> list[tuple[int, T]]:
        """A snapshot of (stamp, item), newest stamp first."""
        with self._lock:
            return sorted(self._items, key=lambda entry: entry[0], reverse=True)

    def discard_until(self, stamp_ns: int) -> None:
        """Forget items stamped at or before ``stamp_ns`` (they describe a scene that is gone)."""
        with self._lock:
            kept = [entry for entry in self._items if entry[0] > stamp_ns]
            self._items.clear()
            self._items.extend(kept)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def newest_pair(frames: StampedBuffer[T], masks: StampedBuffer[U], tolerance_ns: int) -> tuple[int, T, U] | None:
    """(stamp, frame, mask) of the newest frame that has a mask within ``tolerance_ns``, or None."""
    for stamp, frame in frames.newest_first():
        mask = masks.closest(stamp, tolerance_ns)
        if mask is not None:
            return stamp, frame, mask
    return None
