"""Scoring a replay: per-frame records, accuracy against ground truth, rate and latency, plots."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpose_ros.core.metrics import YCBV_AUC_MAX_THRESHOLD_M, add_error, adds_error, auc
from fpose_ros.ros.pose_conversion import quaternion_from_matrix


@dataclass
class FrameRecord:
    """What happened to one input frame (keyed by the colour image's stamp).

    Attributes:
        stamp_ns: header stamp of the colour image.
        published_s: monotonic time the colour image was published (None if it was not).
        pose: (4, 4) pose the node published for this stamp, or None.
        pose_received_s: monotonic time that pose arrived.
        pose_frame_id: header.frame_id of the published pose.
        mode: the node's status mode_name for this stamp ("" when no status came).
        score: status score.
        message: status message (why there is no pose).
        gt: (4, 4) ground-truth pose, or None.
        add: ADD error in metres (inf without a pose, NaN without ground truth).
        adds: ADD-S error in metres (same conventions).
        masked: a mask with object pixels was published with this frame's stamp.
    """

    stamp_ns: int
    published_s: float | None = None
    pose: np.ndarray | None = None
    pose_received_s: float | None = None
    pose_frame_id: str = ""
    mode: str = ""
    score: float = 0.0
    message: str = ""
    gt: np.ndarray | None = None
    add: float = math.nan
    adds: float = math.nan
    masked: bool = False

    @property
    def latency_ms(self) -> float:
        """Colour image published -> pose received, milliseconds (NaN without a pose)."""
        if self.pose_received_s is None or self.published_s is None:
            return math.nan
        return (self.pose_received_s - self.published_s) * 1e3


@dataclass
class ReplaySummary:
    """Numbers of one replay (printed as a table, written as JSON)."""

    frames: int
    poses: int
    coverage: float
    frames_with_gt: int = 0
    add_auc: float | None = None
    adds_auc: float | None = None
    input_rate_hz: float = math.nan
    output_rate_hz: float = math.nan
    latency_p50_ms: float = math.nan
    latency_p90_ms: float = math.nan
    latency_max_ms: float = math.nan
    frames_dropped: int = 0
    time_to_first_pose_s: float = math.nan
    reacquire_s: list[float] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)


def evaluate(records: list[FrameRecord], model_points: np.ndarray | None, frames_dropped: int = 0,
             modes: Sequence[str] = ()) -> ReplaySummary:
    """Fill each record's errors and summarise.

    Args:
        records: one per published colour frame, in stamp order.
        model_points: (N, 3) points of the mesh in its own frame (metres), for ADD / ADD-S.
        frames_dropped: the node's last reported ``frames_dropped``.
        modes: the status modes in the order the node published them, repeats merged (by stamp they
            can interleave: a frame that waited for a mask reports "lost" after the frame registered on).
    """
    for record in records:
        if record.gt is None or model_points is None:
            continue
        if record.pose is None:
            record.add = record.adds = math.inf
        else:
            record.add = add_error(model_points, record.pose, record.gt)
            record.adds = adds_error(model_points, record.pose, record.gt)
    with_pose = [r for r in records if r.pose is not None]
    with_gt = [r for r in records if r.gt is not None and model_points is not None]
    latencies = np.array([r.latency_ms for r in with_pose if math.isfinite(r.latency_ms)])
    published = [r.published_s for r in records if r.published_s is not None]
    received = sorted(r.pose_received_s for r in with_pose if r.pose_received_s is not None)
    summary = ReplaySummary(frames=len(records), poses=len(with_pose),
                            coverage=len(with_pose) / len(records) if records else 0.0,
                            frames_with_gt=len(with_gt), frames_dropped=frames_dropped, modes=list(modes))
    if with_gt:
        summary.add_auc = auc(np.array([r.add for r in with_gt]))
        summary.adds_auc = auc(np.array([r.adds for r in with_gt]))
    if len(published) > 1:
        summary.input_rate_hz = (len(published) - 1) / (max(published) - min(published))
    if len(received) > 1:
        summary.output_rate_hz = (len(received) - 1) / (received[-1] - received[0])
    if latencies.size:
        summary.latency_p50_ms, summary.latency_p90_ms = (float(v) for v in np.percentile(latencies, [50, 90]))
        summary.latency_max_ms = float(latencies.max())
    if received and published:
        summary.time_to_first_pose_s = received[0] - min(published)
    summary.reacquire_s = reacquisition_delays(records)
    return summary


def reacquisition_delays(records: list[FrameRecord]) -> list[float]:
    """Seconds from each return of a lost object to its next pose, one per loss.

    A loss starts at a frame whose status is "lost"; the clock starts when the first frame after it
    that carries a mask with object pixels is published (the node cannot register before) and stops
    when the next pose arrives. Losses that end before any such mask are not counted.

    Args:
        records: in stamp order.
    """
    delays: list[float] = []
    lost, mask_published = False, None
    for record in records:
        lost = lost or (record.mode == "lost" and record.pose is None)
        if lost and record.masked and mask_published is None:
            mask_published = record.published_s
        if record.pose is not None:
            if lost and mask_published is not None and record.pose_received_s is not None:
                delays.append(record.pose_received_s - mask_published)
            lost, mask_published = False, None
    return delays


def format_table(summary: ReplaySummary) -> str:
    """The summary as an aligned two-column table."""
    def number(value: float | None, fmt: str) -> str:
        return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)

    latency = " / ".join(number(v, ".1f") for v in (summary.latency_p50_ms, summary.latency_p90_ms,
                                                     summary.latency_max_ms))
    rows = [
        ("frames (poses)", f"{summary.frames} ({summary.poses})"),
        ("coverage", number(summary.coverage * 100, ".1f") + " %"),
        ("ADD AUC (0-10 cm)", number(summary.add_auc, ".3f")),
        ("ADD-S AUC (0-10 cm)", number(summary.adds_auc, ".3f")),
        ("input rate", number(summary.input_rate_hz, ".1f") + " Hz"),
        ("output rate", number(summary.output_rate_hz, ".1f") + " Hz"),
        ("latency p50 / p90 / max", f"{latency} ms"),
        ("frames dropped by node", str(summary.frames_dropped)),
        ("first pose after", number(summary.time_to_first_pose_s, ".2f") + " s"),
        ("re-acquired after", ", ".join(number(v, ".2f") + " s" for v in summary.reacquire_s) or "no loss"),
        ("modes", " -> ".join(summary.modes) or "none"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def write_csv(records: list[FrameRecord], path: Path) -> None:
    """One row per frame: stamp, pose (translation + quaternion), mode, score, latency, errors."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["stamp_ns", "has_pose", "x", "y", "z", "qx", "qy", "qz", "qw", "mode", "score",
                         "latency_ms", "add_m", "adds_m", "message"])
        for r in records:
            pose = [""] * 7
            if r.pose is not None:
                pose = [*r.pose[:3, 3], *quaternion_from_matrix(r.pose[:3, :3])]
                pose = [f"{v:.6f}" for v in pose]
            writer.writerow([r.stamp_ns, int(r.pose is not None), *pose, r.mode, f"{r.score:.4f}",
                             f"{r.latency_ms:.2f}", f"{r.add:.6f}", f"{r.adds:.6f}", r.message])


def write_json(summary: ReplaySummary, path: Path, extra: dict | None = None) -> None:
    """The summary (non-finite numbers as null) plus ``extra`` keys (inputs, options)."""
    data = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(summary).items()}
    path.write_text(json.dumps({**data, **(extra or {})}, indent=2) + "\n")


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


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot module
    """matplotlib with the file-only backend (replays run on headless machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
