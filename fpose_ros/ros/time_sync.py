"""Approximate-time synchronization of colour, depth and camera_info.

:func:`make_synchronizer` returns message_filters' ``ApproximateTimeSynchronizer`` where
message_filters is installed (fed through ``SimpleFilter`` inputs, so the node keeps its
own subscriptions and QoS), and :class:`ApproximateTimeSynchronizer`,
this module's equivalent with the same matching rule, where it is not.

The rule (message_filters' Python implementation): every input keeps up to ``queue_size``
messages keyed by header stamp, dropping the oldest stamp first. When a message arrives,
each other input's messages whose stamps lie within ``slop`` of it are candidates, closest
first; the first combination (in that order) whose stamps span strictly less than ``slop``
is emitted as one set, and its messages leave their queues. Nothing is emitted when some
input has no candidate.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

try:  # message_filters exists on a ROS 2 install, not on PyPI
    import message_filters
except ImportError:
    message_filters = None


def stamp_ns(msg: Any) -> int:
    """Header stamp of a ROS message in integer nanoseconds."""
    stamp = msg.header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class StampSynchronizer(Protocol):
    """What the node needs from a synchronizer: feed input ``index``, and forget everything."""

    def add(self, index: int, msg: Any) -> None:
        """Offer message ``msg`` of input ``index`` to the synchronizer."""

    def reset(self) -> None:
        """Drop every message held."""


class ApproximateTimeSynchronizer:
    """Emit sets of one message per input whose header stamps span less than ``slop_s``.

    Args:
        n_inputs: number of inputs (3 for colour, depth, camera_info).
        queue_size: messages kept per input while waiting for partners.
        slop_s: largest stamp difference (seconds, exclusive) within one set.
        callback: called with the set's messages in input order, outside the internal lock.
    """

    def __init__(self, n_inputs: int, queue_size: int, slop_s: float, callback: Callable[..., None]) -> None:
        if n_inputs < 1 or queue_size < 1 or not slop_s > 0:
            raise ValueError(f"need n_inputs >= 1, queue_size >= 1, slop > 0; got {n_inputs}, {queue_size}, {slop_s}")
        self._queue_size = queue_size
        self._slop_ns = int(round(slop_s * 1e9))
        self._callback = callback
        self._queues: list[dict[int, Any]] = [{} for _ in range(n_inputs)]
        self._lock = threading.Lock()  # inputs may arrive on several executor threads

    def add(self, index: int, msg: Any) -> None:
        """Feed one message of input ``index``; emits a set when this message completes one."""
        stamp = stamp_ns(msg)
        with self._lock:
            queue = self._queues[index]
            queue[stamp] = msg
            while len(queue) > self._queue_size:
                del queue[min(queue)]
            matched = self._match(index, stamp)
            if matched is None:
                return
            messages = [self._queues[i].pop(s) for i, s in enumerate(matched)]
        self._callback(*messages)

    def reset(self) -> None:
        """Drop every queued message (after a time jump, queued stamps belong to another timeline)."""
        with self._lock:
            for queue in self._queues:
                queue.clear()

    def _match(self, index: int, stamp: int) -> tuple[int, ...] | None:
        """Stamps (one per input) of the first set that completes with ``stamp`` on input ``index``."""
        candidates: list[list[int]] = []
        for i, queue in enumerate(self._queues):
            if i == index:
                candidates.append([stamp])
                continue
            near = sorted((s for s in queue if abs(s - stamp) <= self._slop_ns), key=lambda s: abs(s - stamp))
            if not near:
                return None
            candidates.append(near)
        for combination in itertools.product(*candidates):
            if max(combination) - min(combination) < self._slop_ns:
                return combination
        return None


class MessageFiltersSynchronizer:
    """message_filters' ApproximateTimeSynchronizer behind the :class:`StampSynchronizer` interface."""

    def __init__(self, n_inputs: int, queue_size: int, slop_s: float, callback: Callable[..., None]) -> None:
        self._args = (n_inputs, queue_size, slop_s)
        self._callback = callback
        self._build()

    def _build(self) -> None:
        n_inputs, queue_size, slop_s = self._args
        self._inputs = [message_filters.SimpleFilter() for _ in range(n_inputs)]
        self._sync = message_filters.ApproximateTimeSynchronizer(self._inputs, queue_size, slop_s)
        self._sync.registerCallback(self._callback)

    def add(self, index: int, msg: Any) -> None:
        """Feed one message of input ``index`` to message_filters' synchronizer."""
        self._inputs[index].signalMessage(msg)

    def reset(self) -> None:
        """Drop every queued message."""
        # message_filters has no public way to clear its queues: start a fresh synchronizer.
        self._build()


def make_synchronizer(n_inputs: int, queue_size: int, slop_s: float,
                      callback: Callable[..., None]) -> StampSynchronizer:
    """message_filters' synchronizer where installed, this module's otherwise."""
    if message_filters is not None:
        return MessageFiltersSynchronizer(n_inputs, queue_size, slop_s, callback)
    return ApproximateTimeSynchronizer(n_inputs, queue_size, slop_s, callback)


def implementation_name(synchronizer: StampSynchronizer) -> str:
    """Which implementation is in use, for the start-up log."""
    return "message_filters" if isinstance(synchronizer, MessageFiltersSynchronizer) else "fpose_ros.ros.time_sync"

