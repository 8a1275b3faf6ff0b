"""Warnings that repeat at camera rate, logged at most once per period per kind of problem."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _KeyState:
    last_logged_s: float
    suppressed: int = 0


class RateLimitedLogger:
    """Log a message for a problem key at most once every ``period_s`` seconds.

    A bad input stream (wrong encoding, missing camera_info) repeats the same problem 30
    times a second; logging each one floods the console and ``/rosout``. rclpy's own
    ``throttle_duration_sec`` throttles per call site, which merges different problems
    logged from one place; here each key (e.g. ``"encoding:color"``) is throttled on its own,
    and the next message says how many were suppressed.

    Args:
        log: the function that writes one message (e.g. ``node.get_logger().warning``).
        period_s: minimum time between two messages of the same key.
        clock: monotonic time source in seconds (replaceable for tests).
    """

    def __init__(self, log: Callable[[str], object], period_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._period_s = period_s
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}
        self._lock = threading.Lock()  # called from executor threads and the worker thread

    def log(self, key: str, message: str) -> bool:
        """Log ``message`` unless ``key`` was logged less than ``period_s`` ago; return whether it was logged."""
        now = self._clock()
        with self._lock:
            state = self._keys.get(key)
            if state is not None and now - state.last_logged_s < self._period_s:
                state.suppressed += 1
                return False
            suppressed = 0 if state is None else state.suppressed
            self._keys[key] = _KeyState(last_logged_s=now)
        if suppressed:
            message = f"{message} ({suppressed} similar message(s) suppressed)"
        self._log(message)
        return True
