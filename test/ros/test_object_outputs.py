"""One object's outputs: every tracking state under its own status constant; markers only for subscribers."""

import time

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.synthetic.assets import load_asset
from fpose_ros.msg import TrackingStatus
from fpose_ros.ros.markers import MarkerFactory
from fpose_ros.ros.object_outputs import MODE_VALUES, OUTPUT_QOS, FrameTiming, ObjectOutputs


def test_every_tracking_mode_has_the_status_constant_of_its_name():
    # A mode without a value would make publishing its status raise in the engine thread.
    assert {mode: getattr(TrackingStatus, f"MODE_{mode.name}") for mode in TrackingMode} == MODE_VALUES
    assert len(set(MODE_VALUES.values())) == len(TrackingMode)
    assert TrackingStatus.MODE_OCCLUDED == 3  # appended: the older values keep their meaning in recorded bags


def test_markers_are_built_only_while_someone_subscribes(monkeypatch) -> None:
    # rviz is usually not running: building four markers per object and frame for nobody is wasted CPU.
    built = []
    original = MarkerFactory.pose_markers
    monkeypatch.setattr(MarkerFactory, "pose_markers",
                        lambda self, header, T: built.append(T) or original(self, header, T))
    context = Context()
    rclpy.init(context=context)
    node = Node("fpose_outputs_test", context=context)
    try:
        outputs = ObjectOutputs(node, "part/", "part")
        outputs.set_model(load_asset("proc:21"), "/tmp/part.ply", 1.0, header=None)
        header = Header(frame_id="camera_color_optical_frame")
        timing = FrameTiming(processing_ms=3.0, received_s=time.monotonic(), frames_processed=1, frames_dropped=0)
        T = np.eye(4)
        T[2, 3] = 0.5
        posed = PoseResult(T, T, 0.9, TrackingMode.TRACKING, n_hypotheses=1, visible_fraction=0.9)
        transform = outputs.publish_result(header, posed, timing)
        assert transform is not None and transform.child_frame_id == "part"  # pose and TF go out regardless
        assert not outputs.markers_wanted and built == []

        received: list[MarkerArray] = []
        node.create_subscription(MarkerArray, "part/markers", received.append, OUTPUT_QOS)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 10.0
        while not outputs.markers_wanted and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        outputs.publish_result(header, posed, timing)
        outputs.publish_result(header, PoseResult(None, None, 0.0, TrackingMode.LOST, reason="lost"), timing)
        while len(received) < 2 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert len(built) == 1
        assert [[m.action for m in r.markers] for r in received] == [[Marker.ADD] * 4, [Marker.DELETE] * 4]
        executor.shutdown()
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
