"""release_free_memory gives freed heap pages back to the system (glibc), which free() alone does not."""

from __future__ import annotations

import platform

import pytest

from fpose_ros._node_env import release_free_memory
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
