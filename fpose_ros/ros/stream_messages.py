"""RGB-D frames (numpy) -> the serialized ROS messages a RealSense and a segmenter would publish.

Used to write demo bags and to feed the node in end-to-end tests: each frame becomes a
colour image, a registered depth image and a camera_info with the same stamp, optionally a
mask (published later, as a segmenter would) and a ground-truth pose.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.ros.bag_io import BagMessage
from fpose_ros.ros.detection_messages import BoxDetection, detection_2d_array
from fpose_ros.ros.image_conversion import array_to_image_msg
from fpose_ros.ros.pose_conversion import pose_from_matrix

#: numpy dtype (without byte order) of a mask or label image -> its sensor_msgs/Image encoding.
_MASK_ENCODINGS = {"u1": "mono8", "u2": "16UC1", "i4": "32SC1"}


@dataclass(frozen=True)
class StreamTopics:
    """Topic names of a stream (RealSense-like by default)."""

    color: str = "/camera/color/image_raw"
    depth: str = "/camera/depth/image_raw"
    camera_info: str = "/camera/color/camera_info"
    mask: str = "/camera/mask"
    detections_2d: str = "/camera/detections_2d"
    ground_truth: str = "/ground_truth/pose"


@dataclass(frozen=True)
class StreamFrame:
    """One frame of a stream.

    Attributes:
        rgb: (H, W, 3) uint8 RGB.
        depth: (H, W) float32 metres, 0 = invalid.
        mask: (H, W) bool object mask (sent as mono8 0 / 255), or an instance label image ((H, W) uint16
            sent as 16UC1, int32 as 32SC1, uint8 as mono8: 0 = no object), or None when the segmenter sends
            none for this frame.
        T_cam_obj: (4, 4) ground-truth pose of the mesh frame in the camera frame, or None.
        detections: a box detector's output for this frame (published like a mask), or None.
    """

    rgb: np.ndarray
    depth: np.ndarray
    mask: np.ndarray | None = None
    T_cam_obj: np.ndarray | None = None
    detections: tuple[BoxDetection, ...] | None = None


def stamp(ns: int) -> Time:
    """A ROS time from nanoseconds."""
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def camera_info(intrinsics: CameraIntrinsics, header: Header) -> CameraInfo:
    """A rectified pinhole camera_info (no distortion) for ``intrinsics``."""
    K = intrinsics.matrix()
    P = np.hstack([K, np.zeros((3, 1))])
    return CameraInfo(header=header, width=intrinsics.width, height=intrinsics.height, distortion_model="plumb_bob",
                      d=[0.0] * 5, k=K.reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(),
                      p=P.reshape(-1).tolist())


def stream_messages(frames: Iterable[StreamFrame], intrinsics: CameraIntrinsics, *, fps: float = 30.0,
                    start_ns: int = 1_700_000_000_000_000_000, frame_id: str = "camera_color_optical_frame",
                    depth_encoding: str = "16UC1", color_encoding: str = "rgb8", mask_delay_s: float = 0.04,
                    topics: StreamTopics = StreamTopics()) -> Iterator[BagMessage]:
    """Serialized messages of ``frames`` at ``fps``, ordered by their (bag) receive time.

    The colour, depth and camera_info of frame i carry stamp ``start_ns + i / fps``; the mask and the
    detections carry the same stamp but are received ``mask_delay_s`` later (segmentation takes time).
    Depth is ``16UC1`` millimetres (RealSense) or ``32FC1`` metres.
    """
    period_ns = int(round(1e9 / fps))
    pending: list[BagMessage] = []  # masks waiting for their receive time
    for i, frame in enumerate(frames):
        t = start_ns + i * period_ns
        header = Header(stamp=stamp(t), frame_id=frame_id)
        while pending and pending[0].timestamp_ns <= t:
            yield pending.pop(0)
        rgb = frame.rgb if color_encoding == "rgb8" else frame.rgb[:, :, ::-1]
        yield BagMessage(topics.color, "sensor_msgs/msg/Image", t,
                         serialize_message(array_to_image_msg(rgb, color_encoding, header.stamp, frame_id)))
        depth = frame.depth
        if depth_encoding == "16UC1":
            depth = np.round(np.nan_to_num(depth, nan=0.0) * 1000.0).clip(0, 65535).astype(np.uint16)
        yield BagMessage(topics.depth, "sensor_msgs/msg/Image", t + 1000,
                         serialize_message(array_to_image_msg(depth, depth_encoding, header.stamp, frame_id)))
        yield BagMessage(topics.camera_info, "sensor_msgs/msg/CameraInfo", t + 2000,
                         serialize_message(camera_info(intrinsics, header)))
        if frame.T_cam_obj is not None:
            gt = PoseStamped(header=header, pose=pose_from_matrix(frame.T_cam_obj))
            yield BagMessage(topics.ground_truth, "geometry_msgs/msg/PoseStamped", t + 3000, serialize_message(gt))
        if frame.mask is not None:
            mask = frame.mask.astype(np.uint8) * 255 if frame.mask.dtype == bool else frame.mask
            encoding = _MASK_ENCODINGS[mask.dtype.str[1:]]
            pending.append(BagMessage(topics.mask, "sensor_msgs/msg/Image", t + int(mask_delay_s * 1e9),
                                      serialize_message(array_to_image_msg(mask, encoding, header.stamp, frame_id))))
        if frame.detections is not None:
            pending.append(BagMessage(topics.detections_2d, "vision_msgs/msg/Detection2DArray",
                                      t + int(mask_delay_s * 1e9) + 1000,
                                      serialize_message(detection_2d_array(header, frame.detections))))
    yield from pending
