"""Process settings the node needs before torch loads; imported by :mod:`fpose_ros.node` ahead of torch.

OpenMP threads (torch's intra-op pool) spin-wait between parallel regions by default. On a 2-core
machine that also runs the node's executor, DDS and the camera, the spinning threads take the cores
from the thread that has work: measured on a shared 2-core machine (load ~6), a registration took
8-9 s and a tracked frame 150 ms with the default policy, against 1.0 s and 30 ms with
``OMP_WAIT_POLICY=PASSIVE`` (the same with one thread). libgomp reads the variable once, when it
is loaded, so it is set here, before the first ``import torch``; a value the user set is kept.

glibc's malloc keeps memory that was freed: each thread that allocates gets an arena of its own
(the engine worker, Embree's ray threads, the executor, DDS), and a heap returns pages only from
its top. A registration's temporaries (tens of MB for 252 hypotheses) land wherever the heap
has room, so the resident size follows the largest such layout seen so far: in the 10-minute soak
(``make soak``) it stepped up by about 30 MB once, minutes in, and stayed there. Giving the free
pages back after every registration bounds that, but costs the next registration all its page
faults afresh (about 13,000 on the sugar box, 0.19 -> 0.32 s of one thread on a 2-core VM), as a
low mmap threshold (``MALLOC_MMAP_THRESHOLD_``) did. So the node calls :meth:`HeapTrim.after_registration`
after each registration, once its pose is published: the pages go back (:func:`release_free_memory`)
only when the resident size has grown :data:`HEAP_GROWTH_TRIM_MB` above what it was after an
earlier registration (:class:`HeapTrim`); the registrations in between reuse the pages without faults.
"""

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _glibc_malloc_trim() -> "ctypes._NamedFuncPointer | None":
    """The C library's ``malloc_trim`` when it is glibc (None with another C library, e.g. musl or macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim  # ctypes.CDLL releases the GIL during the call
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _glibc_malloc_trim()


def release_free_memory() -> bool:
    """Give the pages malloc holds free (every arena, not only the heap's top) back to the system.

    Costs 5-15 ms of CPU with the node's heap (a few hundred MB, loaded 2-core machine); the
    calling thread only, other threads' allocations wait while their arena is walked.

    Returns:
        True when memory was released; False when none was, or the C library is not glibc.
    """
    return _MALLOC_TRIM is not None and bool(_MALLOC_TRIM(0))


#: Growth of the resident size (MB) over its level after a registration (HeapTrim's baseline) at which the node
#: gives malloc's free pages back (below the soak's 20 MB bound; one registration's layout shifting
#: in the heap moved it by about 30 MB).
HEAP_GROWTH_TRIM_MB = 16.0


def resident_mb() -> float:
    """This process's resident set size, MB (Linux /proc/self/statm; NaN elsewhere).

    Not :func:`fpose_ros.evaluation.resources.rss_mb`: that module imports torch, which must load after this one.
    """
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class HeapTrim:
    """Gives freed heap pages back when the process's resident size has grown, not after every registration.

    The baseline is the resident size after a registration: the first one, then the first one after
    each trim (it has faulted its temporaries in again, into a compact layout). A registration that
    leaves the process more than ``margin_mb`` above the baseline trims. Thread-safe: every object's
    worker calls :meth:`after_registration`; the resident size is the process's.

    Args:
        margin_mb: growth over the baseline, MB, at which the free pages go back.
        read_mb: reads the resident size, MB (NaN: unknown, never trims).
        release: gives the free pages back; returns whether any went.
    """

    def __init__(self, margin_mb: float = HEAP_GROWTH_TRIM_MB, read_mb: Callable[[], float] = resident_mb,
                 release: Callable[[], bool] = release_free_memory) -> None:
        self.margin_mb = margin_mb
        self.baseline_mb: float | None = None  # None: the next registration sets it
        self.trims = 0
        self._read_mb, self._release = read_mb, release
        self._lock = threading.Lock()

    def after_registration(self) -> bool:
        """Trim when the resident size is more than ``margin_mb`` above the baseline; returns whether it did."""
        with self._lock:
            now = self._read_mb()
            if self.baseline_mb is None:
                self.baseline_mb = now
                return False
            if not now > self.baseline_mb + self.margin_mb:
                return False
            self.trims += 1
            self.baseline_mb = None
            return self._release()
