"""``fpose-replay``: play a rosbag2 into fpose_node over DDS, record its outputs, score them.

    fpose-replay BAG --mesh FILE [--gt-topic /ground_truth/pose] [--out DIR] [NODE_INPUT:=BAG_TOPIC ...]

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
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from fpose_ros.core.object_model import load_object_model
from fpose_ros.msg import TrackingStatus
from fpose_ros.ros.bag_io import (
    STATUS_MSGTYPE,
    BagMessage,
    BagReader,
    BagWriter,
    header_stamp_ns,
    rclpy_message_type,
)
from fpose_ros.ros.evaluation import (
    FrameRecord,
    ReplaySummary,
    evaluate,
    format_table,
    plot_auc,
    plot_errors,
    write_csv,
    write_json,
)
from fpose_ros.ros.pose_conversion import matrix_from_pose
from fpose_ros.ros.tf_broadcast import TF_QOS

NODE_INPUTS = ("color/image_raw", "depth/image_raw", "color/camera_info", "mask")
NODE_OUTPUTS = {"/pose": "geometry_msgs/msg/PoseStamped", "/status": STATUS_MSGTYPE, "/tf": "tf2_msgs/msg/TFMessage",
                "/markers": "visualization_msgs/msg/MarkerArray"}
_IMAGE, _INFO, _POSE = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "geometry_msgs/msg/PoseStamped"
_REPO_ROOT = Path(__file__).resolve().parents[1]


class ReplayError(RuntimeError):
    """The bag, the topics or the node are not usable; the message says which and why."""


@dataclass(frozen=True)
class TopicPlan:
    """Which bag topic feeds which node input, and where the ground truth is."""

    inputs: dict[str, str]  # node input name -> bag topic (mask may be absent)
    gt_topic: str | None

    @property
    def color(self) -> str:
        return self.inputs["color/image_raw"]


def plan_topics(bag_topics: dict[str, str], remaps: dict[str, str], gt_topic: str | None) -> TopicPlan:
    """Match bag topics to node inputs: remaps first, then by type and name.

    Raises:
        ReplayError: a required input is missing or ambiguous (the message lists the candidates).
    """
    unknown = set(remaps) - set(NODE_INPUTS)
    if unknown:
        raise ReplayError(f"unknown node input(s) {sorted(unknown)} in remaps; the node's inputs are {NODE_INPUTS}")
    for name, topic in remaps.items():
        if topic not in bag_topics:
            raise ReplayError(f"remap {name}:={topic}: the bag has no topic {topic}; it has {sorted(bag_topics)}")
    images = [t for t, k in bag_topics.items() if k == _IMAGE and t not in remaps.values()]
    infos = [t for t, k in bag_topics.items() if k == _INFO and t not in remaps.values()]

    def pick(name: str, candidates: list[str], words: tuple[str, ...], avoid: tuple[str, ...] = ()) -> str | None:
        if name in remaps:
            return remaps[name]
        matches = [t for t in candidates
                   if any(w in t.lower() for w in words) and not any(a in t.lower() for a in avoid)]
        if len(matches) > 1:  # prefer depth registered to colour, as the node requires
            aligned = [t for t in matches if "aligned" in t.lower()]
            matches = aligned if len(aligned) == 1 else matches
        if len(matches) > 1:
            raise ReplayError(f"several bag topics could be the node's {name}: {matches}; choose with {name}:=TOPIC")
        return matches[0] if matches else None

    inputs = {
        "color/image_raw": pick("color/image_raw", images, ("color", "rgb"), ("depth", "mask", "seg", "overlay")),
        "depth/image_raw": pick("depth/image_raw", images, ("depth",), ("mask", "seg")),
        "color/camera_info": pick("color/camera_info", infos, ("color", "rgb")),
        "mask": pick("mask", images, ("mask", "seg", "label")),
    }
    if inputs["color/camera_info"] is None and len(infos) == 1:  # a bag with one camera_info: that one
        inputs["color/camera_info"] = infos[0]
    missing = [n for n in NODE_INPUTS[:3] if inputs[n] is None]
    if missing:
        raise ReplayError(f"no bag topic for the node's {', '.join(missing)}; the bag has "
                          f"{ {t: k for t, k in bag_topics.items()} }; choose with NAME:=TOPIC")
    if gt_topic is not None and bag_topics.get(gt_topic) != _POSE:
        raise ReplayError(f"ground-truth topic {gt_topic} is not a PoseStamped topic of the bag")
    if gt_topic is None:
        poses = [t for t, k in bag_topics.items() if k == _POSE and ("ground_truth" in t or "gt" in t.split("/"))]
        gt_topic = poses[0] if len(poses) == 1 else None
    return TopicPlan({n: t for n, t in inputs.items() if t is not None}, gt_topic)


def read_ground_truth(reader: BagReader, topic: str | None) -> dict[int, np.ndarray]:
    """Header stamp -> (4, 4) ground-truth pose of the mesh frame in the camera frame."""
    if topic is None:
        return {}
    return {header_stamp_ns(m.raw): matrix_from_pose(reader.deserialize(m).pose)
            for m in reader.messages({topic})}


def default_fastdds_profile() -> Path | None:
    """The project's Fast DDS profile for 640x480 images (source tree or installed share)."""
    candidates = [_REPO_ROOT / "config" / "fastdds_large_images.xml"]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("fpose_ros")) / "config" / "fastdds_large_images.xml")
    except (ImportError, LookupError, OSError):  # not installed as a ROS package
        pass
    return next((p for p in candidates if p.is_file()), None)


def ros_environment() -> dict[str, str]:
    """This process's environment with the large-image Fast DDS profile set (unless the user set one).

    Fast DDS 2 (Humble, Jazzy) reads FASTRTPS_DEFAULT_PROFILES_FILE, Fast DDS 3 (Kilted) prefers
    FASTDDS_DEFAULT_PROFILES_FILE; both are set to the same file.
    """
    env = dict(os.environ)
    profile = env.get("FASTDDS_DEFAULT_PROFILES_FILE") or env.get("FASTRTPS_DEFAULT_PROFILES_FILE")
    if profile is None:
        found = default_fastdds_profile()
        profile = str(found) if found is not None else None
    if profile is not None:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = env["FASTRTPS_DEFAULT_PROFILES_FILE"] = profile
    return env


def _has_object(raw_mask: bytes) -> bool:
    """Whether a serialized sensor_msgs/Image mask has any nonzero pixel (an empty mask carries no object)."""
    return bool(np.frombuffer(memoryview(deserialize_message(raw_mask, Image).data), np.uint8).any())


class NodeProcess:
    """fpose_node in its own process, its output in a log file; stopped with SIGINT like Ctrl-C."""

    def __init__(self, arguments: list[str], log_path: Path, env: dict[str, str],
                 command: tuple[str, ...] = (sys.executable, "-m", "fpose_ros.node")) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        # The venv's ROS bootstrapper re-executes Python once; the inherited environment already
        # carries its guard, so the node starts directly (same pid, no second start-up).
        self.process = subprocess.Popen([*command, *arguments], stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self, lines: int = 25) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@dataclass
class _Received:
    """Outputs of the node, keyed by header stamp (filled by the executor thread)."""

    poses: dict[int, tuple[np.ndarray, float, str]] = field(default_factory=dict)
    statuses: dict[int, object] = field(default_factory=dict)
    status_order: list[int] = field(default_factory=list)
    mode_order: list[str] = field(default_factory=list)  # each status's mode, in arrival order
    tf: list[tuple[int, str, str]] = field(default_factory=list)  # (stamp, parent, child)
    last_status: object | None = None


class ReplaySession:
    """Publishes recorded messages to the node over DDS and records what it publishes.

    Own rclpy context, so several sessions (tests) can run in one process one after another.

    Args:
        plan: bag topic of each node input.
        writer: output bag for the node's outputs, or None.
        publisher_qos: "reliable" (as a RealSense publishes by default) or "best_effort".
    """

    def __init__(self, plan: TopicPlan, writer: BagWriter | None, publisher_qos: str = "reliable") -> None:
        self._plan = plan
        self._writer = writer
        self._context = Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node("fpose_replay", context=self._context)
        reliability = ReliabilityPolicy.RELIABLE if publisher_qos == "reliable" else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                         durability=DurabilityPolicy.VOLATILE)
        types = {"color/image_raw": "sensor_msgs/msg/Image", "depth/image_raw": "sensor_msgs/msg/Image",
                 "color/camera_info": "sensor_msgs/msg/CameraInfo", "mask": "sensor_msgs/msg/Image"}
        self._publishers = {topic: self._node.create_publisher(rclpy_message_type(types[name]), topic, qos)
                            for name, topic in plan.inputs.items()}
        self.received = _Received()
        self.published: dict[int, float] = {}  # colour stamp -> monotonic publish time
        self.masked: set[int] = set()  # stamps of published masks with object pixels
        self.mask_published_s: dict[int, float] = {}  # those masks' stamp -> monotonic publish time
        self._lock = threading.Lock()
        output_qos = QoSProfile(depth=100)
        for topic, msgtype in NODE_OUTPUTS.items():
            self._node.create_subscription(rclpy_message_type(msgtype), topic,
                                           lambda raw, t=topic, k=msgtype: self._on_output(t, k, raw),
                                           TF_QOS if topic == "/tf" else output_qos, raw=True)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except ExternalShutdownException:
            pass

    def _on_output(self, topic: str, msgtype: str, raw: bytes) -> None:
        now = time.monotonic()
        if self._writer is not None:
            self._writer.write(topic, msgtype, time.time_ns(), raw)
        with self._lock:
            if topic == "/pose":
                msg = deserialize_message(raw, PoseStamped)
                self.received.poses[header_stamp_ns(raw)] = (matrix_from_pose(msg.pose), now, msg.header.frame_id)
            elif topic == "/status":
                msg = deserialize_message(raw, TrackingStatus)
                stamp = header_stamp_ns(raw)
                self.received.statuses[stamp] = msg
                self.received.status_order.append(stamp)
                self.received.mode_order.append(msg.mode_name)
                self.received.last_status = msg
            elif topic == "/tf":
                for t in deserialize_message(raw, TFMessage).transforms:
                    stamp = t.header.stamp.sec * 1_000_000_000 + t.header.stamp.nanosec
                    self.received.tf.append((stamp, t.header.frame_id, t.child_frame_id))

    def wait_for_node(self, node: NodeProcess, timeout_s: float) -> None:
        """Block until the node's subscriptions and status publisher are matched with ours."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if node.exited():
                raise ReplayError(f"fpose_node exited with code {node.process.returncode}:\n{node.log_tail()}")
            subscribed = all(p.get_subscription_count() > 0 for p in self._publishers.values())
            if subscribed and self._node.count_publishers("/status") > 0:
                time.sleep(0.5)  # let the other side of the discovery settle too
                return
            time.sleep(0.1)
        raise ReplayError(f"fpose_node did not subscribe to {sorted(self._publishers)} within {timeout_s:.0f} s:\n"
                          f"{node.log_tail()}")

    def play(self, messages: Iterable[BagMessage], rate: float = 1.0) -> None:
        """Publish ``messages`` (timestamp order) at their recorded pace, ``rate`` times faster."""
        start_wall, first_ns = None, None
        for message in messages:
            publisher = self._publishers.get(message.topic)
            if publisher is None:
                continue
            if start_wall is None:
                start_wall, first_ns = time.monotonic() + 0.05, message.timestamp_ns
            delay = start_wall + (message.timestamp_ns - first_ns) * 1e-9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if message.topic == self._plan.color:
                self.published[header_stamp_ns(message.raw)] = time.monotonic()
            elif message.topic == self._plan.inputs.get("mask") and _has_object(message.raw):
                self.masked.add(header_stamp_ns(message.raw))
                self.mask_published_s[header_stamp_ns(message.raw)] = time.monotonic()
            publisher.publish(message.raw)

    def drain(self, timeout_s: float) -> None:
        """Wait until the node reported on the last published frame, or ``timeout_s``."""
        if not self.published:
            return
        last = max(self.published)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and last not in self.received.statuses:
            time.sleep(0.05)
        time.sleep(0.2)  # the pose of that frame is published just before its status

    def records(self, ground_truth: dict[int, np.ndarray]) -> list[FrameRecord]:
        """One record per published colour frame, in stamp order."""
        with self._lock:
            records = []
            for stamp in sorted(self.published):
                record = FrameRecord(stamp_ns=stamp, published_s=self.published[stamp], gt=ground_truth.get(stamp),
                                     masked=stamp in self.masked)
                if stamp in self.received.poses:
                    record.pose, record.pose_received_s, record.pose_frame_id = self.received.poses[stamp]
                status = self.received.statuses.get(stamp)
                if status is not None:
                    record.mode, record.score, record.message = status.mode_name, status.score, status.message
                records.append(record)
            return records

    def statuses_received(self) -> list[object]:
        """The node's TrackingStatus messages in arrival order."""
        with self._lock:
            return [self.received.statuses[s] for s in self.received.status_order]

    def modes_received(self) -> list[str]:
        """Status modes in the order the node published them, consecutive repeats merged."""
        with self._lock:
            modes = list(self.received.mode_order)
        return [m for i, m in enumerate(modes) if i == 0 or m != modes[i - 1]]

    @property
    def frames_dropped(self) -> int:
        status = self.received.last_status
        return int(status.frames_dropped) if status is not None else 0

    def close(self) -> None:
        self._executor.shutdown()
        self._node.destroy_node()
        rclpy.try_shutdown(context=self._context)
        self._spinner.join(timeout=5.0)


@dataclass
class ReplayOptions:
    """Options of one replay (the CLI's arguments)."""

    bag: Path
    mesh: Path
    out: Path
    mesh_scale: float = 1.0
    remaps: dict[str, str] = field(default_factory=dict)
    gt_topic: str | None = None
    rate: float = 1.0
    storage: str = "mcap"
    publisher_qos: str = "reliable"
    params: list[str] = field(default_factory=list)  # NAME:=VALUE for the node
    params_file: Path | None = None
    plots: bool = True
    startup_timeout_s: float = 120.0
    drain_timeout_s: float = 5.0


@dataclass
class ReplayResult:
    summary: ReplaySummary
    records: list[FrameRecord]
    tf: list[tuple[int, str, str]]
    plan: TopicPlan
    modes_received: list[str] = field(default_factory=list)  # status modes in arrival order, repeats merged


def node_arguments(options: ReplayOptions, plan: TopicPlan) -> list[str]:
    """``--ros-args`` of the node: mesh, parameters, and the remaps onto the bag's topics."""
    arguments = ["--ros-args", "-p", f"mesh_file:={options.mesh.resolve()}", "-p", f"mesh_scale:={options.mesh_scale}"]
    if options.params_file is not None:
        arguments += ["--params-file", str(options.params_file)]
    for param in options.params:
        arguments += ["-p", param]
    for name, topic in plan.inputs.items():
        arguments += ["-r", f"{name}:={topic}"]
    return arguments


def run_replay(options: ReplayOptions) -> ReplayResult:
    """Play the bag into a fresh fpose_node, record and score its outputs, write the result files."""
    if not options.rate > 0:
        raise ReplayError(f"--rate must be positive, got {options.rate}")
    options.out.mkdir(parents=True, exist_ok=True)
    output_bag = options.out / "outputs"
    if output_bag.exists():
        raise ReplayError(f"{output_bag} exists already; choose another --out")
    with BagReader(options.bag) as reader:
        plan = plan_topics(reader.topics, options.remaps, options.gt_topic)
        ground_truth = read_ground_truth(reader, plan.gt_topic)
        env = ros_environment()
        os.environ.update({k: v for k, v in env.items() if k.endswith("_DEFAULT_PROFILES_FILE")})
        node = NodeProcess(node_arguments(options, plan), options.out / "node.log", env)
        try:
            with BagWriter(output_bag, storage=options.storage) as writer:
                session = ReplaySession(plan, writer, options.publisher_qos)
                try:
                    session.wait_for_node(node, options.startup_timeout_s)
                    session.play(reader.messages(set(plan.inputs.values())), options.rate)
                    session.drain(options.drain_timeout_s)
                finally:
                    session.close()
        finally:
            node.stop()
    model = load_object_model(options.mesh, scale=options.mesh_scale)
    T_mesh_centered = np.linalg.inv(model.T_centered_mesh)
    points = model.surface_points.astype(np.float64) @ T_mesh_centered[:3, :3].T + T_mesh_centered[:3, 3]
    records = session.records(ground_truth)
    summary = evaluate(records, points if ground_truth else None, session.frames_dropped, session.modes_received())
    write_csv(records, options.out / "frames.csv")
    write_json(summary, options.out / "summary.json",
               {"bag": str(options.bag), "mesh": str(options.mesh), "inputs": plan.inputs, "gt_topic": plan.gt_topic,
                "publisher_qos": options.publisher_qos, "rate": options.rate})
    if options.plots and records and ground_truth:
        plot_errors(records, options.out / "error_over_time.png")
        plot_auc(records, options.out / "auc.png")
    return ReplayResult(summary, records, list(session.received.tf), plan, session.modes_received())


def _parse_args(argv: list[str] | None) -> ReplayOptions:
    parser = argparse.ArgumentParser(prog="fpose-replay", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: fpose-replay demo_bag --mesh object.ply "
                                            "depth/image_raw:=/camera/camera/aligned_depth_to_color/image_raw")
    parser.add_argument("bag", type=Path, help="rosbag2 directory (or .db3 / .mcap file)")
    parser.add_argument("remaps", nargs="*", metavar="NODE_INPUT:=BAG_TOPIC",
                        help=f"bag topic for a node input ({', '.join(NODE_INPUTS)})")
    parser.add_argument("--mesh", type=Path, required=True, help="mesh of the object (the node's mesh_file)")
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
    print(format_table(result.summary))
    print(f"outputs in {options.out}: outputs/ (rosbag2), frames.csv, summary.json"
          + (", error_over_time.png, auc.png" if options.plots and result.plan.gt_topic else ""))
    if not math.isfinite(result.summary.output_rate_hz):
        print("fpose-replay: the node published fewer than two poses; see node.log", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
