"""Watching the synchronized inputs: time jumps, and why no complete frame is being formed.

The synchronizer silently produces nothing when one input is missing (camera_info not
remapped) or when stamps never match (depth not registered, slop too small); a user then
sees a node that does nothing. :class:`InputMonitor` turns both situations into a sentence
that names the topic and the numbers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _InputState:
    last_stamp_ns: int | None = None
    last_arrival_s: float | None = None


class InputMonitor:
    """Arrival times and stamps of the inputs of one synchronizer.

    Args:
        names: the inputs' topic names, in synchronizer order (for messages).
        timeout_s: how long without a complete set (while inputs arrive) counts as a problem.
    """

    def __init__(self, names: tuple[str, ...], timeout_s: float) -> None:
        self._names = names
        self._timeout_s = timeout_s
        self._inputs = [_InputState() for _ in names]
        self._last_set_s: float | None = None
        self._started_s: float | None = None
        self._lock = threading.Lock()

    def record(self, index: int, stamp_ns: int, now_s: float) -> float | None:
        """Note a message of input ``index``; returns by how many seconds its stamp went backwards, if it did.

        After a backward jump every input's last stamp is forgotten, so the other inputs'
        first messages on the new timeline are not reported as jumps again.
        """
        with self._lock:
            state = self._inputs[index]
            jump = None
            if state.last_stamp_ns is not None and stamp_ns < state.last_stamp_ns:
                jump = (state.last_stamp_ns - stamp_ns) * 1e-9
                for other in self._inputs:
                    other.last_stamp_ns = None
            state.last_stamp_ns = stamp_ns
            state.last_arrival_s = now_s
            return jump

    def record_set(self, now_s: float) -> None:
        """Note that the synchronizer formed a complete set."""
        with self._lock:
            self._last_set_s = now_s

    def problem(self, now_s: float, slop_s: float) -> str | None:
        """Why no complete set was formed for ``timeout_s``, or None when all is well (or nothing arrives)."""
        with self._lock:
            if self._started_s is None:
                self._started_s = now_s
            since_set = now_s - (self._last_set_s if self._last_set_s is not None else self._started_s)
            if since_set < self._timeout_s:
                return None
            fresh = [s.last_arrival_s is not None and now_s - s.last_arrival_s < self._timeout_s for s in self._inputs]
            if not any(fresh):
                if self._last_set_s is None and all(s.last_arrival_s is None for s in self._inputs):
                    return f"waiting for input: nothing received on {', '.join(self._names)} for {since_set:.1f} s"
                return None  # the stream stopped: nothing to synchronize, nothing wrong
            if not all(fresh):
                missing = [n for n, ok in zip(self._names, fresh, strict=True) if not ok]
                present = [n for n, ok in zip(self._names, fresh, strict=True) if ok]
                return (f"no messages on {', '.join(missing)} for {since_set:.1f} s while {', '.join(present)} "
                        f"arrive(s): check that topic's name and remapping")
            first = self._inputs[0].last_stamp_ns or 0
            offsets = ", ".join(f"{self._names[0]} - {n} = {(first - (s.last_stamp_ns or 0)) * 1e-9:+.3f} s"
                                for n, s in zip(self._names[1:], self._inputs[1:], strict=True))
            return (f"all inputs arrive but no set matched within sync_slop_s = {slop_s:g} s for {since_set:.1f} s; "
                    f"newest stamps: {offsets}. Depth must be registered to colour with the same timing "
                    f"(RealSense: align_depth.enable:=true); raise sync_slop_s if the offset is expected")
