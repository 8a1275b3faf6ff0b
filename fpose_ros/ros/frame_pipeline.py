"""Hand-over from subscription callbacks to the worker thread: a one-item slot that keeps the newest."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item; a new item replaces one the consumer has not taken yet.

    The producer (a subscription callback) never blocks and never queues: when the
    consumer (the engine's worker thread) is slower than the camera, the frames it could
    not process are dropped and counted, and it always continues with the newest one,
    so latency does not grow with a backlog.
    """

    def __init__(self) -> None:
        self._item: T | None = None
        self._dropped = 0
        self._woken = False
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: T) -> bool:
        """Store ``item``; returns True when it replaced (dropped) an item nobody took."""
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self._dropped += 1
            self._item = item
            self._cond.notify_all()
            return replaced

    def take(self, timeout: float | None = None) -> T | None:
        """Wait up to ``timeout`` s for an item and remove it; None on timeout, :meth:`wake` or :meth:`close`."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._woken or self._closed, timeout)
            self._woken = False
            item, self._item = self._item, None
            return item

    def wake(self) -> None:
        """Make a waiting :meth:`take` return now (e.g. a mask arrived for a frame already taken)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def clear(self) -> None:
        """Discard the stored item without counting it as dropped (after a reset)."""
        with self._cond:
            self._item = None

    def close(self) -> None:
        """Release every waiting and future :meth:`take` (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> int:
        """Items replaced before the consumer took them, since construction."""
        return self._dropped
