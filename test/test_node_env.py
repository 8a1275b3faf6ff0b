"""Heap pages back to the system: release_free_memory (glibc), and HeapTrim, which asks for it only after growth."""

from __future__ import annotations

import math
import platform
from pathlib import Path

import pytest

from fpose_ros._node_env import HeapTrim, release_free_memory, resident_mb
from fpose_ros.evaluation.resources import rss_mb


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_pages_are_released() -> None:
    # 64 KB blocks come from malloc's heap (below its mmap threshold); the last one stays alive
    # above the freed ones, so the heap cannot shrink from its top on free() and keeps them resident.
    blocks = [bytearray(b"x" * 65536) for _ in range(800)]  # 50 MB, every page touched
    kept = blocks[-1]
    del blocks
    held = rss_mb()
    assert release_free_memory()
    assert rss_mb() < held - 30.0
    assert kept[0] == ord("x")


class _FakeHeap:
    """A resident size the test sets, and the trims asked for."""

    def __init__(self) -> None:
        self.mb = 500.0
        self.released = 0

    def read(self) -> float:
        return self.mb

    def release(self) -> bool:
        self.released += 1
        return True


def test_heap_trim_only_when_grown_past_the_margin_over_the_baseline() -> None:
    heap = _FakeHeap()
    trim = HeapTrim(margin_mb=16.0, read_mb=heap.read, release=heap.release)
    assert not trim.after_registration()  # the first registration sets the baseline
    assert trim.baseline_mb == 500.0
    heap.mb = 515.0
    assert not trim.after_registration()  # within the margin: the pages stay for the next registration
    heap.mb = 517.0
    assert trim.after_registration()
    assert (heap.released, trim.trims) == (1, 1)
    # After a trim the next registration (its temporaries faulted in again) is the new baseline.
    heap.mb = 530.0
    assert not trim.after_registration()
    assert trim.baseline_mb == 530.0
    heap.mb = 540.0
    assert not trim.after_registration()
    assert heap.released == 1


def test_heap_trim_never_trims_when_the_resident_size_is_unknown() -> None:
    heap = _FakeHeap()
    heap.mb = math.nan
    trim = HeapTrim(margin_mb=16.0, read_mb=heap.read, release=heap.release)
    for _ in range(3):
        assert not trim.after_registration()
    assert heap.released == 0


def test_resident_size_is_this_process_rss() -> None:
    if not Path("/proc/self/statm").exists():
        assert math.isnan(resident_mb())
        return
    assert abs(resident_mb() - rss_mb()) < 5.0
