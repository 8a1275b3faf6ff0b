"""Publishing recorded or synthetic messages to ``fpose_node`` over DDS and recording what it publishes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage
from vision_msgs.msg import Detection3DArray

from fpose_ros.evaluation.statistics import FrameRecord, StatusEvent
from fpose_ros.msg import TrackingStatus
from fpose_ros.ros.bag_io import STATUS_MSGTYPE, BagMessage, BagReader, BagWriter, header_stamp_ns, rclpy_message_type
from fpose_ros.ros.node_topics import ReplayError, TopicPlan
from fpose_ros.ros.pose_conversion import matrix_from_pose
from fpose_ros.ros.tf_broadcast import TF_QOS

if TYPE_CHECKING:  # the node process module starts sessions: imported for the annotation only
    from fpose_ros.evaluation.node_process import NodeProcess

NODE_OUTPUTS = {"/pose": "geometry_msgs/msg/PoseStamped", "/status": STATUS_MSGTYPE, "/tf": "tf2_msgs/msg/TFMessage",
                "/markers": "visualization_msgs/msg/MarkerArray"}


def read_ground_truth(reader: BagReader, topic: str | None) -> dict[int, np.ndarray]:
    """Header stamp -> (4, 4) ground-truth pose of the mesh frame in the camera frame."""
    if topic is None:
        return {}
    return {header_stamp_ns(m.raw): matrix_from_pose(reader.deserialize(m).pose)
            for m in reader.messages({topic})}


def _has_object(raw_mask: bytes) -> bool:
    """Whether a serialized sensor_msgs/Image mask has any nonzero pixel (an empty mask carries no object)."""
    return bool(np.frombuffer(memoryview(deserialize_message(raw_mask, Image).data), np.uint8).any())


@dataclass
class _Received:
    """Outputs of the node, keyed by header stamp (filled by the executor thread)."""

    poses: dict[int, tuple[np.ndarray, float, str]] = field(default_factory=dict)
    statuses: dict[int, TrackingStatus] = field(default_factory=dict)  # the last status of each stamp
    events: list[StatusEvent] = field(default_factory=list)  # every status, in arrival order
    tf: list[tuple[int, str, str]] = field(default_factory=list)  # (stamp, parent, child)
    detections: dict[int, Detection3DArray] = field(default_factory=dict)
    last_status: TrackingStatus | None = None


class ReplaySession:
    """Publishes recorded messages to the node over DDS and records what it publishes.

    Own rclpy context, so several sessions (tests) can run in one process one after another.

    Args:
        plan: bag topic of each node input.
        writer: output bag for the node's outputs, or None.
        publisher_qos: "reliable" (as a RealSense publishes by default) or "best_effort".
        objects: the node's ``object_names``: each object's ``<name>/pose`` and ``<name>/status`` are recorded
            apart (:meth:`records` / :meth:`status_events` with ``name``); empty: the one object's ``pose``.
    """

    def __init__(self, plan: TopicPlan, writer: BagWriter | None, publisher_qos: str = "reliable",
                 objects: Sequence[str] = ()) -> None:
        self._plan = plan
        self._writer = writer
        self._context = Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node("fpose_replay", context=self._context)
        reliability = ReliabilityPolicy.RELIABLE if publisher_qos == "reliable" else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                         durability=DurabilityPolicy.VOLATILE)
        types = {"color/image_raw": "sensor_msgs/msg/Image", "depth/image_raw": "sensor_msgs/msg/Image",
                 "color/camera_info": "sensor_msgs/msg/CameraInfo", "mask": "sensor_msgs/msg/Image",
                 "detections_2d": "vision_msgs/msg/Detection2DArray"}
        self._publishers: dict[str, Publisher] = {
            topic: self._node.create_publisher(rclpy_message_type(types[name]), topic, qos)
            for name, topic in plan.inputs.items()}
        self.received = _Received()
        self.object_received = {name: _Received() for name in objects}
        # Output topic -> (the store it fills, "pose" / "status" / "tf"); every object's store apart.
        self._stores = {topic: (self.received, topic.strip("/")) for topic in ("/pose", "/status", "/tf")}
        for name, store in self.object_received.items():
            self._stores |= {f"/{name}/pose": (store, "pose"), f"/{name}/status": (store, "status")}
        self.published: dict[int, float] = {}  # colour stamp -> monotonic publish time
        self.masked: set[int] = set()  # stamps of published masks with object pixels
        self.mask_published_s: dict[int, float] = {}  # those masks' stamp -> monotonic publish time
        self._lock = threading.Lock()
        output_qos = QoSProfile(depth=100)
        outputs = {**NODE_OUTPUTS, **{f"/{name}/{kind}": NODE_OUTPUTS[f"/{kind}"]
                                      for name in objects for kind in ("pose", "status")}}
        for topic, msgtype in outputs.items():
            self._node.create_subscription(rclpy_message_type(msgtype), topic,
                                           lambda raw, t=topic, k=msgtype: self._on_output(t, k, raw),
                                           TF_QOS if topic == "/tf" else output_qos, raw=True)
        # Not into the output bag: rosbags' type store has no vision_msgs.
        self._node.create_subscription(Detection3DArray, "/detections", self._on_detections, output_qos)
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
        store, kind = self._stores.get(topic, (None, ""))
        if store is None:  # the one-object markers: recorded into the bag only
            return
        with self._lock:
            if kind == "pose":
                msg = deserialize_message(raw, PoseStamped)
                store.poses[header_stamp_ns(raw)] = (matrix_from_pose(msg.pose), now, msg.header.frame_id)
            elif kind == "status":
                msg = deserialize_message(raw, TrackingStatus)
                stamp = header_stamp_ns(raw)
                store.statuses[stamp] = msg
                store.events.append(StatusEvent(stamp, msg.mode_name, bool(msg.pose_published),
                                                int(msg.num_hypotheses), msg.message))
                store.last_status = msg
            else:
                for t in deserialize_message(raw, TFMessage).transforms:
                    stamp = t.header.stamp.sec * 1_000_000_000 + t.header.stamp.nanosec
                    store.tf.append((stamp, t.header.frame_id, t.child_frame_id))

    def _on_detections(self, msg: Detection3DArray) -> None:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self._lock:
            self.received.detections[stamp] = msg

    def wait_for_node(self, node: NodeProcess, timeout_s: float, status_topic: str = "/status") -> None:
        """Block until the node's subscriptions and its ``status_topic`` publisher are matched with ours."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if node.exited():
                raise ReplayError(f"fpose_node exited with code {node.process.returncode}:\n{node.log_tail()}")
            subscribed = all(p.get_subscription_count() > 0 for p in self._publishers.values())
            if subscribed and self._node.count_publishers(status_topic) > 0:
                time.sleep(0.5)  # let the other side of the discovery settle too
                return
            time.sleep(0.1)
        raise ReplayError(f"fpose_node did not subscribe to {sorted(self._publishers)} within {timeout_s:.0f} s:\n"
                          f"{node.log_tail()}")

    def play(self, messages: Iterable[BagMessage], rate: float = 1.0) -> None:
        """Publish ``messages`` (timestamp order) at their recorded pace, ``rate`` times faster."""
        start_wall: float | None = None  # monotonic time the first message is due
        first_ns = 0
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
        stores = list(self.object_received.values()) or [self.received]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(last not in store.statuses for store in stores):
            time.sleep(0.05)
        time.sleep(0.2)  # the pose of that frame is published just before its status

    def records(self, ground_truth: dict[int, np.ndarray], name: str | None = None) -> list[FrameRecord]:
        """One record per published colour frame, in stamp order: the one object's, or object ``name``'s."""
        received = self.received if name is None else self.object_received[name]
        with self._lock:
            records = []
            for stamp in sorted(self.published):
                record = FrameRecord(stamp_ns=stamp, published_s=self.published[stamp], gt=ground_truth.get(stamp),
                                     masked=stamp in self.masked, mask_published_s=self.mask_published_s.get(stamp))
                if stamp in received.poses:
                    record.pose, record.pose_received_s, record.pose_frame_id = received.poses[stamp]
                status = received.statuses.get(stamp)
                if status is not None:
                    record.mode, record.score, record.message = status.mode_name, status.score, status.message
                    record.hypotheses = int(status.num_hypotheses)
                records.append(record)
            return records

    def status_events(self, name: str | None = None) -> list[StatusEvent]:
        """The node's statuses in arrival order (several per stamp where a frame was processed again).

        ``name``: that object's (of ``objects``); None: the one object's ``status``.
        """
        with self._lock:
            return list((self.received if name is None else self.object_received[name]).events)

    def modes_received(self) -> list[str]:
        """Status modes in the order the node published them, consecutive repeats merged."""
        modes = [event.mode for event in self.status_events()]
        return [m for i, m in enumerate(modes) if i == 0 or m != modes[i - 1]]

    @property
    def frames_dropped(self) -> int:
        """Frames the node reported dropped in its last status (0 before any)."""
        status = self.received.last_status
        return int(status.frames_dropped) if status is not None else 0

    def close(self) -> None:
        """Stop the executor and destroy the recording node."""
        self._executor.shutdown()
        self._node.destroy_node()
        rclpy.try_shutdown(context=self._context)
        self._spinner.join(timeout=5.0)
