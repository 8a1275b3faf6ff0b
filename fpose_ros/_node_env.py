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
(``make soak``) it stepped up by about 30 MB once, minutes in, and stayed there. The node calls
:func:`release_free_memory` after each registration, once its pose is published, so that those
pages go back to the system.
The allocation path stays as it is: a fixed, low mmap threshold (``MALLOC_MMAP_THRESHOLD_``), the
other bound, made every registration page-fault its temporaries afresh and cost 1.7-2x its CPU time.
"""

import ctypes
import ctypes.util
import os

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
