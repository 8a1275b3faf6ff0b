"""What the figures were measured on and what a process costs: machine, CPU time, RSS (Linux /proc).

Used by the offline benchmark (this process's peak RSS) and the live benchmark and soak (the node
process's CPU time and RSS).
"""

from __future__ import annotations

import math
import os
import platform
import resource
from pathlib import Path

import torch


def reset_peak_rss() -> None:
    """Reset this process's RSS high-water mark (Linux >= 4.0); elsewhere the peak stays cumulative."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb(pid: int | str = "self") -> float:
    """RSS high-water mark (VmHWM) of process ``pid``, MB.

    For this process without /proc, ``getrusage``'s lifetime maxrss.
    """
    try:
        return _status_mb(pid, "VmHWM")
    except OSError:
        if pid != "self":
            raise
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb(pid: int | str = "self") -> float:
    """Current RSS (VmRSS) of process ``pid``, MB."""
    return _status_mb(pid, "VmRSS")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, all its threads (/proc/PID/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15 of stat(5)


def _status_mb(pid: int | str, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def machine() -> dict[str, object]:
    """What the figures were measured on: CPU model, cores, torch threads and versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}
