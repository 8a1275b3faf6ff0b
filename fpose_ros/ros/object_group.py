"""What the objects of one node share per frame: one conversion of its images, one ``/tf`` message.

ROS-free and thread-safe; each object has its own worker thread (a registration of one object
never holds up the others' tracking), and these two classes are where their paths meet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
P = TypeVar("P")


@dataclass
class _Entry(Generic[V]):
    ready: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    error: Exception | None = None


class SharedConversion(Generic[K, V]):
    """Converts each frame once for every object: the first worker to ask converts, the others wait for it.

    Keeps the newest ``size`` results (workers in step ask for the same few frames; one catching up
    after a registration converts its older frames again rather than the node holding every frame's
    arrays). A conversion that raised raises the same exception for every worker.

    Args:
        convert: item -> converted value (e.g. colour, depth, camera_info -> RGBDFrame); may raise.
        size: results kept, at least 1.
    """

    def __init__(self, convert: Callable[[K], V], size: int) -> None:
        self._convert = convert
        self._size = max(1, size)
        self._entries: OrderedDict[int, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: int, item: K) -> V:
        """The converted ``item`` (``key``: its stamp, ns); converts only where no worker did yet."""
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if entry is None:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        if owner:
            try:
                entry.value = self._convert(item)
            except Exception as exc:  # every worker gets the same error for this frame
                entry.error = exc
            entry.ready.set()
        entry.ready.wait()
        if entry.error is not None:
            raise entry.error
        return entry.value  # type: ignore[return-value]  # set whenever error is None

    def clear(self) -> None:
        """Forget every result (the stream restarted)."""
        with self._lock:
            self._entries.clear()


class StampGrouper(Generic[P]):
    """Collects the objects' outputs of one frame (their transforms, detections) and releases them together.

    A frame's outputs are released once every object that is tracking *in step* has reported that
    frame or a later one. An object not tracking (registering, lost) is not waited for, nor is one
    behind the released frames (catching up after its registration): its outputs for frames already
    released go out on their own, and it is waited for again once it reaches the stream. So no
    object's slowness holds the others back by more than the frame it is working on.

    Args:
        names: the objects.
        release: ``(stamp_ns, items)`` -> None, called under the grouper's lock (keep it short: a publish)
            once per frame with the outputs of the objects in step, in stamp order, and once per late output.
    """

    def __init__(self, names: Sequence[str], release: Callable[[int, list[P]], None]) -> None:
        self._names = tuple(names)
        self._release = release
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}
        self._tracking: dict[str, bool] = {}
        self._pending: dict[int, list[P]] = {}
        self._released_ns = -1
        self.reset()

    def reset(self) -> None:
        """Forget every stamp (the stream restarted, e.g. a looping bag)."""
        with self._lock:
            self._last = dict.fromkeys(self._names, -1)
            self._tracking = dict.fromkeys(self._names, False)
            self._pending.clear()
            self._released_ns = -1

    def report(self, name: str, stamp_ns: int, item: P, tracking: bool) -> None:
        """Object ``name`` processed frame ``stamp_ns``: its output, and whether it now tracks."""
        with self._lock:
            self._last[name] = max(self._last[name], stamp_ns)
            self._tracking[name] = tracking
            if stamp_ns <= self._released_ns:  # e.g. catching up after a registration: the others' went out already
                self._release(stamp_ns, [item])
            else:
                self._pending.setdefault(stamp_ns, []).append(item)
            self._flush()

    def _flush(self) -> None:
        for stamp in sorted(self._pending):
            waiting = [n for n in self._names if self._tracking[n] and self._released_ns <= self._last[n] < stamp]
            if waiting:
                return
            self._released_ns = stamp
            self._release(stamp, self._pending.pop(stamp))
