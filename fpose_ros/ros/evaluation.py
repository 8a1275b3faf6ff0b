"""A replay's records and summary as files: CSV (poses as translation + quaternion) and JSON."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path

from fpose_ros.evaluation.statistics import FrameRecord, ReplaySummary
from fpose_ros.ros.pose_conversion import quaternion_from_matrix


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
    path.write_text(json.dumps({**_finite(summary), **(extra or {})}, indent=2) + "\n")


def write_json_objects(summaries: dict[str, ReplaySummary], path: Path, extra: dict | None = None) -> None:
    """Each object's summary under ``objects`` (by name; non-finite numbers as null) plus ``extra`` keys."""
    objects = {name: _finite(summary) for name, summary in summaries.items()}
    path.write_text(json.dumps({"objects": objects, **(extra or {})}, indent=2) + "\n")


def _finite(summary: ReplaySummary) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(summary).items()}
