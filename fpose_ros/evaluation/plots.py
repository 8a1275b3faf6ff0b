"""Plots of a replay: error over time and accuracy against threshold (PNG files, headless)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from fpose_ros.core.metrics import YCBV_AUC_MAX_THRESHOLD_M, auc
from fpose_ros.evaluation.statistics import FrameRecord


def plot_errors(records: list[FrameRecord], path: Path) -> None:
    """ADD and ADD-S (cm) over time; frames without a pose marked at the top."""
    plt = _pyplot()
    t0 = records[0].stamp_ns
    t = np.array([(r.stamp_ns - t0) * 1e-9 for r in records])
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for name, values in (("ADD", [r.add for r in records]), ("ADD-S", [r.adds for r in records])):
        ax.plot(t, np.where(np.isfinite(values), np.array(values) * 100, np.nan), label=name, lw=1.2)
    missing = np.array([r.pose is None for r in records])
    if missing.any():
        ax.scatter(t[missing], np.full(missing.sum(), 10.0), marker="|", color="red", label="no pose (at 10 cm)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("error (cm)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_auc(records: list[FrameRecord], path: Path) -> None:
    """Accuracy vs threshold (0-10 cm) for ADD and ADD-S; the AUC is the area under each curve."""
    plt = _pyplot()
    thresholds = np.linspace(0, YCBV_AUC_MAX_THRESHOLD_M, 201)
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, values in (("ADD", [r.add for r in records]), ("ADD-S", [r.adds for r in records])):
        errors = np.array([v for v in values if not math.isnan(v)])
        if errors.size == 0:
            continue
        accuracy = (errors[None, :] <= thresholds[:, None]).mean(axis=1)
        ax.plot(thresholds * 100, accuracy, label=f"{name} (AUC {auc(errors):.3f})")
    ax.set_xlabel("threshold (cm)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pyplot() -> Any:  # the matplotlib.pyplot module
    """Matplotlib with the file-only backend (replays run on headless machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
