"""Publishes one TrackingStatus, one 640x480 rgb8 Image and one TFMessage until told to stop.

Run as a separate process by test_dds_smoke.py; the message contents are a deterministic
function of the seed given on the command line so the test can check every field.
"""

import sys
import time

import numpy as np
import rclpy
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from fpose_ros.msg import TrackingStatus

QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def make_messages(seed: int) -> tuple[TrackingStatus, Image, TFMessage]:
    rng = np.random.default_rng(seed)
    status = TrackingStatus(object_frame="fp_object", mesh_file="/meshes/mug.obj", mode=TrackingStatus.MODE_TRACKING,
                            mode_name="tracking", pose_published=True, score=0.875, visible_fraction=0.5,
                            num_hypotheses=252, processing_ms=12.5, latency_ms=20.25, frames_processed=1234,
                            frames_dropped=7, message="ok")
    status.header.frame_id = "camera_color_optical_frame"
    status.header.stamp.sec, status.header.stamp.nanosec = 1700000000, 123456789
    image = Image(height=480, width=640, encoding="rgb8", is_bigendian=0, step=640 * 3)
    image.header = status.header
    image.data = rng.integers(0, 256, 480 * 640 * 3, dtype=np.uint8).tobytes()
    transform = TransformStamped(child_frame_id="fp_object")
    transform.header = status.header
    transform.transform.translation.x, transform.transform.translation.y, transform.transform.translation.z = (
        0.1, -0.2, 0.55)
    transform.transform.rotation.w = 1.0
    return status, image, TFMessage(transforms=[transform])


def main() -> None:
    seed = int(sys.argv[1])
    rclpy.init()
    node = rclpy.create_node("dds_smoke_publisher")
    messages = make_messages(seed)
    topics = ("status", "image", "tf")
    publishers = [node.create_publisher(type(m), topic, QOS) for m, topic in zip(messages, topics, strict=True)]
    # Transient-local + reliable: a late-joining subscriber still gets the message; republish
    # until the test kills us so discovery timing cannot make the test flaky.
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        for publisher, message in zip(publishers, messages, strict=True):
            publisher.publish(message)
        time.sleep(0.2)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
