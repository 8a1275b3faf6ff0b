"""Write a synthetic sequence as a rosbag2 (what a RealSense and a segmenter would record), plus its mesh.

``python -m fpose_ros.ros.make_bag --out out/demo/bag [--spec demo] [--mask-rate 10]`` writes
``out/demo/bag/`` (mcap) with colour, depth (16UC1 mm), camera_info, mask (at ``--mask-rate`` Hz,
only while the object is in view) and the ground-truth pose, and ``out/demo/bag/object.ply``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import SyntheticSequence, benchmark_specs, demo_spec, load_or_render, small_spec
from fpose_ros.ros.bag_io import BagWriter
from fpose_ros.ros.stream_messages import StreamFrame, stream_messages


def sequence_frames(seq: SyntheticSequence, mask_rate_hz: float | None = None) -> list[StreamFrame]:
    """Stream frames of ``seq``; masks only every ``fps / mask_rate_hz`` frames (all frames when None)."""
    every = 1 if not mask_rate_hz else max(1, round(seq.spec.fps / mask_rate_hz))
    return [StreamFrame(f.rgb, f.depth, seq.masks[i] if i % every == 0 else None, seq.T_cam_obj_gt[i])
            for i, f in enumerate(seq.frames)]


def write_bag(seq: SyntheticSequence, out: Path, mask_rate_hz: float | None = None, storage: str = "mcap") -> Path:
    """Write ``seq`` to the rosbag2 directory ``out`` (replaced) and its mesh to ``out/object.ply``."""
    if out.exists():
        shutil.rmtree(out)
    with BagWriter(out, storage=storage) as bag:
        for msg in stream_messages(sequence_frames(seq, mask_rate_hz), seq.camera, fps=seq.spec.fps):
            bag.write(msg.topic, msg.msgtype, msg.timestamp_ns, msg.raw)
    mesh = asset_mesh(seq.spec.asset)
    mesh.export(out / "object.ply")
    return out / "object.ply"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    specs = {"demo": demo_spec(), "small": small_spec(), **{s.name: s for s in benchmark_specs()}}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="bag directory to write")
    parser.add_argument("--spec", default="demo", choices=sorted(specs), help="which synthetic sequence")
    parser.add_argument("--mask-rate", type=float, help="detector rate in Hz (default: a mask with every frame)")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    parser.add_argument("--cache", type=Path, default=Path("out/cache"))
    args = parser.parse_args(argv)
    seq = load_or_render(specs[args.spec], args.cache)
    mesh = write_bag(seq, args.out, args.mask_rate, args.storage)
    print(f"wrote {args.out} ({len(seq.frames)} frames, {int(np.sum(seq.visible))} with the object) and {mesh}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
