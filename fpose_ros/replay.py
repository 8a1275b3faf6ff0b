"""``fpose-replay``: play a rosbag2 into fpose_node over DDS, record its outputs, score them.

    fpose-replay BAG --mesh FILE [--gt-topic /ground_truth/pose] [--out DIR] [NODE_INPUT:=BAG_TOPIC ...]
    fpose-replay BAG --params-file OBJECTS.yaml [--out DIR] [...]      (a multi-object node, every object scored)

No ROS 2 command-line tools are needed (``ros2 bag`` is not on PyPI): the bag (sqlite3 or
mcap) is read with ``rosbags``, its messages are published, still serialized, at the recorded
rate; ``fpose_node`` runs as a separate process exactly as on a robot. The node's outputs are
written to a new rosbag2 (``DIR/outputs``) and to ``DIR/frames.csv`` / ``DIR/summary.json``;
when the bag has a ground-truth PoseStamped topic, ADD / ADD-S AUC are computed and plotted.
Rate and latency (colour image published -> pose received) are measured in this process.

Input topics are found by type and name (colour / depth Image, CameraInfo, an optional mask
Image); give ``color/image_raw:=/my/topic`` style remaps when a bag's names are ambiguous.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from fpose_ros.evaluation.replay_run import ReplayOptions, run_replay
from fpose_ros.evaluation.tables import format_replay_table
from fpose_ros.ros.node_topics import NODE_INPUTS, ReplayError


def _parse_args(argv: list[str] | None) -> ReplayOptions:
    parser = argparse.ArgumentParser(prog="fpose-replay", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: fpose-replay demo_bag --mesh object.ply "
                                            "depth/image_raw:=/camera/camera/aligned_depth_to_color/image_raw")
    parser.add_argument("bag", type=Path, help="rosbag2 directory (or .db3 / .mcap file)")
    parser.add_argument("remaps", nargs="*", metavar="NODE_INPUT:=BAG_TOPIC",
                        help=f"bag topic for a node input ({', '.join(NODE_INPUTS)})")
    parser.add_argument("--mesh", type=Path,
                        help="mesh of the object (the node's mesh_file); without it, the objects of --params-file's "
                             "object_names, each scored on its own (ground truth: /ground_truth/<name>/pose)")
    parser.add_argument("--mesh-scale", type=float, default=1.0, help="mesh units -> metres (default 1.0)")
    parser.add_argument("--gt-topic", help="ground-truth PoseStamped topic (default: found by name)")
    parser.add_argument("--out", type=Path, help="output directory (default: BAG_replay next to the bag)")
    parser.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default 1.0)")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap", help="output bag storage")
    parser.add_argument("--publisher-qos", choices=("reliable", "best_effort"), default="reliable",
                        help="reliability of the replayed topics (RealSense default: reliable)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="node parameter (repeatable)")
    parser.add_argument("--params-file", type=Path, help="node parameter file (e.g. config/fpose.yaml)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)
    if args.mesh is None and args.params_file is None:
        parser.error("--mesh FILE, or --params-file FILE with object_names (several objects), is required")
    remaps = {}
    for remap in args.remaps:
        name, sep, topic = remap.partition(":=")
        if not sep or not name or not topic:
            parser.error(f"remap '{remap}' is not NODE_INPUT:=BAG_TOPIC")
        remaps[name] = topic
    out = args.out or args.bag.resolve().parent / f"{args.bag.resolve().name}_replay"
    return ReplayOptions(bag=args.bag, mesh=args.mesh, out=out, mesh_scale=args.mesh_scale, remaps=remaps,
                         gt_topic=args.gt_topic, rate=args.rate, storage=args.storage,
                         publisher_qos=args.publisher_qos, params=args.param, params_file=args.params_file,
                         plots=not args.no_plots)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``fpose-replay``."""
    options = _parse_args(argv)
    try:
        result = run_replay(options)
    except ReplayError as exc:
        print(f"fpose-replay: {exc}", file=sys.stderr)
        return 1
    print(f"bag {options.bag}: {', '.join(f'{n} <- {t}' for n, t in result.plan.inputs.items())}"
          + (f"; ground truth {result.plan.gt_topic}" if result.plan.gt_topic else "; no ground truth"))
    if result.objects:
        for name, summary in result.objects.items():
            print(f"object {name}:\n{format_replay_table(summary)}")
        print(f"outputs in {options.out}: outputs/ (rosbag2), <name>_frames.csv, summary.json (key objects)")
    else:
        print(format_replay_table(result.summary))
        print(f"outputs in {options.out}: outputs/ (rosbag2), frames.csv, summary.json"
              + (", error_over_time.png, auc.png" if options.plots and result.plan.gt_topic else ""))
    if not math.isfinite(result.summary.output_rate_hz):
        print("fpose-replay: the node published fewer than two poses; see node.log", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
