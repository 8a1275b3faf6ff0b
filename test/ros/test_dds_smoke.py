"""The environment is real: messages cross process boundaries over Fast DDS, intact."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from fpose_ros.msg import TrackingStatus  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from dds_smoke_publisher import make_messages  # noqa: E402

pytestmark = pytest.mark.ros
SEED = 7


def test_messages_cross_processes_intact() -> None:
    publisher = subprocess.Popen([sys.executable, str(Path(__file__).parent / "dds_smoke_publisher.py"), str(SEED)])
    rclpy.init()
    try:
        node = rclpy.create_node("dds_smoke_subscriber")
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        received: dict[str, object] = {}
        for msg_type, topic in ((TrackingStatus, "status"), (Image, "image"), (TFMessage, "tf")):
            node.create_subscription(msg_type, topic, lambda m, t=topic: received.setdefault(t, m), qos)
        deadline = time.monotonic() + 20.0
        while len(received) < 3 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
        assert set(received) == {"status", "image", "tf"}, f"lost messages: only {sorted(received)} arrived"
        status, image, tf = make_messages(SEED)
        # Generated messages compare field by field, image bytes included.
        assert received["status"] == status
        assert received["image"] == image
        assert bytes(received["image"].data) == bytes(image.data)
        assert received["tf"] == tf
    finally:
        rclpy.shutdown()
        publisher.kill()
        publisher.wait()
