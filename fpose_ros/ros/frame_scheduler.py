"""Which frame the engine processes next: registration on a frame with its mask, then tracking in order.

ROS-free and thread-safe. Subscription callbacks push frames and masks (stamps in integer
nanoseconds, any order and timing); the worker thread asks :meth:`FrameScheduler.next_job` for
the next job and reports each result with :meth:`FrameScheduler.done`.

Every registration is bridged to the live stream: a registration runs on an older frame (its mask
arrives late, or the engine needs longer than a frame period; the oldest mask not yet registered on,
or the newest after a registration that failed), and tracking then continues with
the frame right after the registered one, through every frame that arrived meanwhile, so tracking
never has to follow more than a frame of motion at once. A registration also carries the frames before
its own back to the last one that got a pose (``backfill_frames`` at most), for the worker to track back
through: the frames between the object's return and its first mask, and those whose tracking failed
before a loss while the object was still in view. Frames are skipped evenly only when the
backlog cannot be processed within ``catch_up_budget_s``, and then by at most ``max_catch_up_stride``
frames at a time: a longer step is more motion than tracking follows on a fast object (180 deg/s
turns 30 deg in 5 frames), and a loss costs far more coverage than a slower catch-up. Only an engine
that cannot keep up with the stream at all (its median cost per tracked frame above that many frame
periods) steps further.
"""

from __future__ import annotations

import enum
import math
import statistics
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from fpose_ros.core.validated_config import param, validate

T = TypeVar("T")
M = TypeVar("M")
X = TypeVar("X")

#: Frame period assumed until the stamps tell (s).
_DEFAULT_PERIOD_S = 1.0 / 30.0


class JobKind(enum.Enum):
    """What the worker does with a job's frame."""
    REGISTER = "register"  # the frame with its mask
    TRACK = "track"  # the frame without a mask (the tracker registers nothing without one)


@dataclass(frozen=True)
class FrameSchedulerConfig:
    """Sizes and tolerances of the scheduler (each field's meaning and range: its ``param``)."""

    history_size: int = param(90, "Frames kept (about 3 s at 30 Hz), so a late mask finds its frame and a "
                                  "registration can be bridged.", range=(1, None))
    mask_history_size: int = param(10, "Masks kept for pairing.", range=(1, None))
    mask_slop_ns: int = param(20_000_000, "Largest stamp difference between a mask and its frame, ns (inclusive).",
                              range=(0, None), unit="ns")
    catch_up_budget_s: float = param(1.0, "Longest the catch-up after a registration may take, s; beyond it frames "
                                          "are skipped evenly.", range=(0, None), low_open=True, unit="s")
    max_catch_up_stride: int = param(2, "Most frames one tracking step may advance to meet the budget (2: every "
                                        "other frame).", range=(1, None))
    # A single frame (the first after a registration renders afresh, a busy machine preempts one) does not
    # decide how far to step: every frame is tracked until this many frames tell the cost.
    backfill_frames: int = param(15, "Most frames before a registered one that are tracked back from its pose, "
                                     "newest first, back to the last frame that got a pose (0: none).",
                                 range=(0, None))
    cost_samples: int = param(9, "Tracked frames whose median cost (s) estimates the next ones'.", range=(1, None))

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class Job(Generic[T, M]):
    """One frame for the engine: ``frame`` is the pushed payload, ``mask`` the paired one (REGISTER only).

    ``other_mask`` (REGISTER only, may be None): the nearest older frame that has a mask, else the nearest
    newer one, with that mask; the tracker takes the object's velocity from the two masks
    (``ObjectTracker.note_mask``).

    ``behind`` (TRACK only): frames newer than ``frame`` are waiting (a catch-up, or the engine behind the
    camera); the tracker may leave optional work for a frame that is level with the stream.

    ``earlier`` (REGISTER only): ``(stamp_ns, frame)`` of the frames before ``frame`` and after the last
    frame that got a pose, newest first, at most ``backfill_frames``: a successful registration tracks
    back through them (``ObjectTracker.track_back``), so the frames between the object's return and its
    first mask get poses too, and so do frames whose tracking failed before a loss (a drift on an
    ambiguous view) where the registered pose reaches them.
    """

    kind: JobKind
    stamp_ns: int
    frame: T
    mask: M | None = None
    other_mask: tuple[T, M] | None = None
    earlier: tuple[tuple[int, T], ...] = ()
    behind: bool = False


class FrameScheduler(Generic[T, M]):
    """Frames and masks in, jobs out; see the module docstring for the policy."""

    def __init__(self, config: FrameSchedulerConfig) -> None:
        self._config = config
        self._frames: deque[tuple[int, T]] = deque(maxlen=config.history_size)  # ascending stamps
        self._masks: deque[tuple[int, M]] = deque(maxlen=config.mask_history_size)
        self._tracking = False
        self._cursor_ns = -1  # stamp of the last frame processed; the next job is newer
        self._posed_ns = -1  # stamp of the last frame that got a pose: no backfill at or before it
        self._lost_ns = -1  # stamp of the frame the object was last lost on: no registration at or before it
        self._last_mask_used_ns = -1  # a frame registers with its mask once
        self._registration_failed = False  # the last registration gave no pose: the next tries the newest mask
        self._costs: deque[float] = deque(maxlen=config.cost_samples)  # engine s per tracked frame, newest last
        self._skipped = 0
        self._woken = False
        self._closed = False
        self._cond = threading.Condition()

    # ------------------------------------------------------------ producers (callbacks)

    def push_frame(self, stamp_ns: int, frame: T) -> bool:
        """Add a frame; returns True when its stamp jumped back (bag loop) and the history was cleared."""
        with self._cond:
            jumped = bool(self._frames) and stamp_ns < self._frames[-1][0]
            if jumped:
                self._restart(clear_masks=True)
            if not self._frames or stamp_ns > self._frames[-1][0]:
                self._frames.append((stamp_ns, frame))
            self._cond.notify_all()
            return jumped

    def push_mask(self, stamp_ns: int, mask: M) -> None:
        """Add a mask; it may belong to a frame that came before, with or after it."""
        with self._cond:
            self._masks.append((stamp_ns, mask))
            self._cond.notify_all()

    def reset(self, clear_frames: bool = False, clear_masks: bool = True) -> None:
        """Register again on the next frame that has a mask (``~/reset``, mesh change, engine error).

        ``clear_frames``: the history no longer shows the scene (stamps jumped back); masks kept
        (``clear_masks`` False) may be used again for the frames still held.
        """
        with self._cond:
            if clear_frames:
                self._restart(clear_masks)
            else:
                self._tracking = False
                if clear_masks:
                    self._masks.clear()
            self._cond.notify_all()

    def _restart(self, clear_masks: bool) -> None:
        self._frames.clear()
        if clear_masks:
            self._masks.clear()
        self._tracking = False
        self._cursor_ns = -1
        self._posed_ns = -1
        self._lost_ns = -1
        self._last_mask_used_ns = -1
        self._registration_failed = False

    # ------------------------------------------------------------ consumer (worker thread)

    def next_job(self, timeout: float | None = None) -> Job[T, M] | None:
        """Wait up to ``timeout`` s for the next job; None on timeout, :meth:`wake` or :meth:`close`."""
        with self._cond:
            job: Job[T, M] | None = None

            def ready() -> bool:
                nonlocal job
                job = self._pick()
                return job is not None or self._woken or self._closed

            self._cond.wait_for(ready, timeout)
            self._woken = False
            return None if self._closed else job

    def done(self, job: Job[T, M], tracking: bool, posed: bool, processing_s: float) -> None:
        """Report the engine's outcome for ``job``.

        ``tracking``: the tracker now tracks; ``posed``: ``job``'s frame got a pose (the frames tracked back
        are the worker's own business); ``processing_s``: how long the job took.
        """
        with self._cond:
            if job.kind is JobKind.REGISTER:
                self._last_mask_used_ns = job.stamp_ns
                self._registration_failed = not tracking
            elif tracking:
                self._costs.append(processing_s)
            if self._tracking and not tracking:
                # Lost: frames up to here show the object where it no longer is, and so do their masks, late
                # ones too: none is registered on. The frames stay for the next registration to track back
                # through (it stops at the first that fails).
                self._lost_ns = job.stamp_ns
                _keep_after(self._masks, job.stamp_ns)
            if posed:
                self._posed_ns = max(self._posed_ns, job.stamp_ns)
            self._tracking = tracking
            self._cursor_ns = job.stamp_ns
            self._cond.notify_all()

    def wake(self) -> None:
        """Make a waiting :meth:`next_job` return now."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def close(self) -> None:
        """Release every waiting and future :meth:`next_job` (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: no more jobs are handed out."""
        return self._closed

    @property
    def tracking(self) -> bool:
        """True while the object has a pose to track from."""
        with self._cond:
            return self._tracking

    @property
    def skipped(self) -> int:
        """Frames never processed because the engine could not keep up, since construction."""
        with self._cond:
            return self._skipped

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    # ------------------------------------------------------------ policy (called under the lock)

    def _pick(self) -> Job[T, M] | None:
        if not self._tracking:
            # The oldest mask not yet registered on, so the frames after it get poses (the frames after a
            # loss too: proc3_fast lost 0.5 s of frames each time when it registered on the newest); after a
            # failed registration the newest, as the older masks show the object as the failed one did.
            pairs = list(self._pairs())
            unused = sum(1 for pair in pairs if pair[0] > self._last_mask_used_ns)  # a prefix: newest first
            if unused:
                chosen = 0 if self._registration_failed else unused - 1
                # Registered on the oldest, the one after it: under load the mask queue no longer holds older ones.
                other = pairs[chosen + 1] if chosen + 1 < len(pairs) else pairs[chosen - 1] if chosen else None
                stamp = pairs[chosen][0]
                earlier = tuple(entry for entry in reversed(self._frames) if self._posed_ns < entry[0] < stamp)
                return Job(JobKind.REGISTER, *pairs[chosen], other_mask=None if other is None else other[1:],
                           earlier=earlier[:self._config.backfill_frames])
        backlog = [entry for entry in self._frames if entry[0] > self._cursor_ns]
        if not backlog:
            return None
        if not self._tracking:
            # Nothing to register on yet: the newest frame (its result says so); older ones may still get a mask.
            self._skipped += len(backlog) - 1
            return Job(JobKind.TRACK, *backlog[-1])
        stride = self._stride(len(backlog))
        self._skipped += stride - 1
        return Job(JobKind.TRACK, *backlog[stride - 1], behind=stride < len(backlog))

    def _stride(self, backlog: int) -> int:
        """How many frames the next tracking step advances.

        1 (every frame) when the backlog is processed within the budget while new frames keep coming,
        else more, up to ``max_catch_up_stride`` (or what keeping up with the stream needs, if that is more).
        """
        # Until ``cost_samples`` frames tell, a slow first frame or two is no proof that the engine cannot keep up.
        if len(self._costs) < self._config.cost_samples:
            return 1
        period = self._period_s()
        per_frame = statistics.median(self._costs)
        keep_up = max(1, math.ceil(per_frame / period)) if per_frame >= period else 1
        stride = 1
        while stride < min(backlog, self._config.max_catch_up_stride) and \
                (backlog / stride) * per_frame / max(1.0 - per_frame / (stride * period), 0.05) \
                > self._config.catch_up_budget_s:
            stride += 1
        return min(max(stride, keep_up), backlog)

    def _period_s(self) -> float:
        if len(self._frames) < 2:
            return _DEFAULT_PERIOD_S
        span = self._frames[-1][0] - self._frames[0][0]
        return max(span * 1e-9 / (len(self._frames) - 1), 1e-3)

    def _pairs(self) -> Iterator[tuple[int, T, M]]:
        """(stamp, frame, mask) of the frames after the last loss that have a mask within the slop, newest first."""
        if not self._masks:
            return
        for stamp, frame in reversed(self._frames):
            if stamp <= self._lost_ns:
                return
            best = min(self._masks, key=lambda entry: abs(entry[0] - stamp))
            if abs(best[0] - stamp) <= self._config.mask_slop_ns:
                yield stamp, frame, best[1]

def _keep_after(queue: deque[tuple[int, X]], stamp_ns: int) -> None:
    """Drop the entries of a stamp-ordered ``(stamp_ns, item)`` queue stamped at or before ``stamp_ns``."""
    kept = [entry for entry in queue if entry[0] > stamp_ns]
    queue.clear()
    queue.extend(kept)
