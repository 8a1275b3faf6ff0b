"""Publishing transforms on ``/tf``: tf2_ros' TransformBroadcaster where installed, an equivalent otherwise."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from geometry_msgs.msg import Transform, TransformStamped, Vector3
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from fpose_ros.ros.pose_conversion import pose_from_matrix

try:  # tf2_ros exists on a ROS 2 install, not on PyPI
    import tf2_ros
except ImportError:
    tf2_ros = None

#: What tf2_ros' TransformBroadcaster uses: reliable, volatile, keep last 100. Listeners
#: (rviz, tf2 buffers) subscribe with this profile; a best-effort publisher would not match them.
TF_QOS = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)


class Broadcaster(Protocol):
    """The part of tf2_ros.TransformBroadcaster the node uses."""

    def sendTransform(self, transform: TransformStamped | list[TransformStamped]) -> None:  # noqa: N802
        """Publish one transform or several on ``/tf``."""


class TransformBroadcaster:
    """Publishes ``tf2_msgs/TFMessage`` on ``/tf``, as tf2_ros.TransformBroadcaster does."""

    def __init__(self, node: Node, qos: QoSProfile = TF_QOS) -> None:
        self._publisher = node.create_publisher(TFMessage, "/tf", qos)

    def sendTransform(self, transform: TransformStamped | list[TransformStamped]) -> None:  # noqa: N802 - tf2_ros' name
        """Publish one transform or several on ``/tf`` (tf2_ros' signature)."""
        transforms = transform if isinstance(transform, list) else [transform]
        self._publisher.publish(TFMessage(transforms=transforms))


def make_transform_broadcaster(node: Node) -> Broadcaster:
    """tf2_ros.TransformBroadcaster where installed, :class:`TransformBroadcaster` otherwise."""
    if tf2_ros is not None:
        return tf2_ros.TransformBroadcaster(node)
    return TransformBroadcaster(node)


def transform_stamped(T_parent_child: np.ndarray, header: Header, child_frame_id: str) -> TransformStamped:
    """(4, 4) pose of ``child_frame_id`` in ``header.frame_id`` -> TransformStamped."""
    pose = pose_from_matrix(T_parent_child)
    translation = Vector3(x=pose.position.x, y=pose.position.y, z=pose.position.z)
    return TransformStamped(header=header, child_frame_id=child_frame_id,
                            transform=Transform(translation=translation, rotation=pose.orientation))
