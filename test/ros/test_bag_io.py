"""rosbag2 writing and reading with rosbags, byte-compatible with rclpy's serialization."""

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from rclpy.serialization import deserialize_message, serialize_message

from fpose_ros.ros.bag_io import BagReader, BagWriter, header_stamp_ns, make_typestore, rclpy_message_type
from fpose_ros.ros.image_conversion import array_to_image_msg, color_to_rgb


def test_rclpy_bytes_round_trip_through_a_bag(tmp_path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    image = array_to_image_msg(rgb, "rgb8", Time(sec=12, nanosec=345), "cam")
    pose = PoseStamped()
    pose.header.stamp = Time(sec=12, nanosec=345)
    pose.pose.position.z = 0.7
    path = tmp_path / "bag"
    with BagWriter(path, storage="sqlite3") as writer:
        writer.write("/color/image_raw", "sensor_msgs/msg/Image", 1, serialize_message(image))
        writer.write("/pose", "geometry_msgs/msg/PoseStamped", 2, serialize_message(pose))
    with BagReader(path) as reader:
        assert reader.topics == {"/color/image_raw": "sensor_msgs/msg/Image",
                                 "/pose": "geometry_msgs/msg/PoseStamped"}
        messages = list(reader.messages())
        assert [m.topic for m in messages] == ["/color/image_raw", "/pose"]
        assert all(header_stamp_ns(m.raw) == 12_000_000_345 for m in messages)
        back = deserialize_message(messages[0].raw, rclpy_message_type(messages[0].msgtype))
        np.testing.assert_array_equal(color_to_rgb(back), rgb)
        assert reader.deserialize(messages[1]).pose.position.z == pytest.approx(0.7)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_rosbags_serialization_equals_rclpy(tmp_path, storage: str) -> None:
    typestore = make_typestore()
    PoseType = typestore.types["geometry_msgs/msg/PoseStamped"]
    Header = typestore.types["std_msgs/msg/Header"]
    TimeType = typestore.types["builtin_interfaces/msg/Time"]
    Pose = typestore.types["geometry_msgs/msg/Pose"]
    Point = typestore.types["geometry_msgs/msg/Point"]
    Quaternion = typestore.types["geometry_msgs/msg/Quaternion"]
    msg = PoseType(header=Header(stamp=TimeType(sec=3, nanosec=4), frame_id="cam"),
                   pose=Pose(position=Point(x=1.0, y=2.0, z=3.0), orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)))
    path = tmp_path / "bag"
    with BagWriter(path, storage=storage) as writer:
        writer.write_message("/gt", "geometry_msgs/msg/PoseStamped", 5, msg)
    with BagReader(path) as reader:
        (message,) = reader.messages()
        rclpy_msg = deserialize_message(message.raw, PoseStamped)
        assert rclpy_msg.header.frame_id == "cam" and rclpy_msg.pose.position.y == 2.0
        assert serialize_message(rclpy_msg) == message.raw


def test_status_type_is_registered() -> None:
    typestore = make_typestore()
    status_type = typestore.types["fpose_ros/msg/TrackingStatus"]
    assert status_type.MODE_LOST == 2
    assert "frames_dropped" in status_type.__dataclass_fields__
