"""The built-in demo (``make demo``): a synthetic RealSense-like bag replayed through the real node.

``python -m fpose_ros.demo --out out/demo`` renders the demo sequence (a hand-held procedural object
with a passing occluder, masks at 10 Hz), writes it as a rosbag2, plays it into ``fpose_node`` over
DDS with ``fpose-replay``, prints the accuracy / rate / latency table, and writes a contact sheet of
the node's poses drawn on the images (``OUT/contact_sheet.png``) beside the replay's plots.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.object_model import load_trimesh
from fpose_ros.core.synthetic.sequences import demo_spec, load_or_render
from fpose_ros.evaluation.replay_run import ReplayOptions, run_replay
from fpose_ros.evaluation.statistics import FrameRecord
from fpose_ros.evaluation.tables import format_replay_table
from fpose_ros.ros.make_bag import write_bag
from fpose_ros.ros.node_topics import ReplayError
from fpose_ros.ros.overlay import OverlayRenderer


def contact_sheet(frames: list[np.ndarray], records: list[FrameRecord], mesh_path: Path, intrinsics: CameraIntrinsics,
                  columns: int = 4, rows: int = 2) -> np.ndarray:
    """A grid of frames spread over the sequence, each with the node's pose (or its mode) drawn on it."""
    mesh = load_trimesh(mesh_path)
    overlay = OverlayRenderer(np.asarray(mesh.vertices), np.asarray(mesh.faces), float(mesh.scale) * 0.3)
    picks = np.linspace(0, len(records) - 1, columns * rows).astype(int)
    tiles = []
    for i in picks:
        r = records[i]
        tile = overlay.draw(frames[i], intrinsics, r.pose, r.mode or "dropped", r.score or 0.0)
        tiles.append(cv2.resize(tile, (tile.shape[1] // 2, tile.shape[0] // 2), interpolation=cv2.INTER_AREA))
    grid = [np.concatenate(tiles[k * columns:(k + 1) * columns], axis=1) for k in range(rows)]
    return np.concatenate(grid, axis=0)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="fpose-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output directory")
    parser.add_argument("--cache", type=Path, default=Path("out/cache"), help="rendered-sequence cache")
    args = parser.parse_args(argv)

    seq = load_or_render(demo_spec(), args.cache)
    print(f"[demo] sequence: {len(seq.frames)} frames at {seq.spec.fps:.0f} Hz, object {seq.model.name} "
          f"({seq.model.diameter * 100:.0f} cm), masks at 10 Hz")
    mesh = write_bag(seq, args.out / "bag", mask_rate_hz=10.0)
    replay_dir = args.out / "replay"
    if replay_dir.exists():
        shutil.rmtree(replay_dir)
    print(f"[demo] replaying {args.out / 'bag'} into fpose_node over DDS ...")
    try:
        result = run_replay(ReplayOptions(bag=args.out / "bag", mesh=mesh, out=replay_dir))
    except ReplayError as exc:
        print(f"[demo] {exc}", file=sys.stderr)
        return 1
    print(format_replay_table(result.summary))
    sheet = contact_sheet([f.rgb for f in seq.frames], result.records, mesh, seq.camera)
    cv2.imwrite(str(args.out / "contact_sheet.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"[demo] wrote {args.out / 'contact_sheet.png'}; node log, frames.csv, summary.json and plots in "
          f"{replay_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
