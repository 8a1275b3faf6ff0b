"""Everything the node publishes about one tracked object: pose, status, markers, overlay (and its TF transform).

One instance per object, so a node tracking several objects (a mesh and a mask label each)
gives each its own topics under a prefix; the single-object node uses the plain names. The TF
transform is returned rather than sent: the node sends the transforms of all objects of a frame
in one ``/tf`` message (:class:`~fpose_ros.ros.object_group.StampGrouper`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import PoseStamped, TransformStamped
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection3D
from visualization_msgs.msg import MarkerArray

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.msg import TrackingStatus
from fpose_ros.ros.detection_messages import MeshBox, detection_3d
from fpose_ros.ros.image_conversion import rgb_to_image_msg
from fpose_ros.ros.markers import MarkerFactory
from fpose_ros.ros.overlay import OverlayRenderer
from fpose_ros.ros.pose_conversion import pose_from_matrix
from fpose_ros.ros.tf_broadcast import transform_stamped

MODE_VALUES = {
    TrackingMode.REGISTERING: TrackingStatus.MODE_REGISTERING,
    TrackingMode.TRACKING: TrackingStatus.MODE_TRACKING,
    TrackingMode.OCCLUDED: TrackingStatus.MODE_OCCLUDED,
    TrackingMode.LOST: TrackingStatus.MODE_LOST,
}
OUTPUT_QOS = QoSProfile(depth=10)  # reliable, volatile: rviz, rosbag2 and tf listeners all accept it


@dataclass(frozen=True)
class FrameTiming:
    """Bookkeeping the status reports for one processed frame."""

    processing_ms: float
    received_s: float  # time.monotonic() when the frame's last message arrived
    frames_processed: int
    frames_dropped: int


class ObjectOutputs:
    """Publishers of one object, and the conversion of engine results into their messages.

    Args:
        node: the node that owns the publishers.
        prefix: topic prefix ("" for the single-object node, "<name>/" for several objects).
        object_frame: TF child frame of the object.
        class_id: the object's detector class (its entry on ``detections``).
        colour: RGB (0-255) of its rviz mesh and overlay outline where the node tracks several objects
            (:func:`~fpose_ros.ros.markers.object_colour`); None: grey mesh, outline in the mode's colour.
    """

    def __init__(self, node: Node, prefix: str, object_frame: str, class_id: str = "",
                 colour: tuple[int, int, int] | None = None) -> None:
        self._object_frame = object_frame
        self._colour = colour
        self._class_id = class_id
        self._pose_pub = node.create_publisher(PoseStamped, f"{prefix}pose", OUTPUT_QOS)
        self._status_pub = node.create_publisher(TrackingStatus, f"{prefix}status", OUTPUT_QOS)
        self._markers_pub = node.create_publisher(MarkerArray, f"{prefix}markers", OUTPUT_QOS)
        self._overlay_pub = node.create_publisher(Image, f"{prefix}overlay", OUTPUT_QOS)
        self._mesh_file = ""
        self._markers: MarkerFactory | None = None
        self._mesh_box: MeshBox | None = None
        self._overlay: OverlayRenderer | None = None
        self._markers_shown = False

    def set_model(self, model: ObjectModel, mesh_file: str, mesh_scale: float, header: Header | None) -> None:
        """Use a (new) mesh for markers and overlay; removes the old mesh's markers from rviz."""
        if self._markers is not None and header is not None:
            self._markers_pub.publish(self._markers.delete_markers(header))
        self._mesh_file = mesh_file
        self._mesh_box = MeshBox.of(model)
        self._markers = MarkerFactory(mesh_file, mesh_scale, self._object_frame, axis_length=0.5 * model.diameter,
                                      colour=self._colour)
        T_mesh_centered = np.linalg.inv(model.T_centered_mesh)
        vertices = model.vertices.astype(np.float64) @ T_mesh_centered[:3, :3].T + T_mesh_centered[:3, 3]
        self._overlay = OverlayRenderer(vertices, model.faces, axis_length=0.5 * model.diameter,
                                        outline_colour=self._colour)
        self._markers_shown = False

    def _model_outputs(self) -> tuple[MarkerFactory, OverlayRenderer]:
        """The mesh's marker factory and overlay renderer; a programming error before :meth:`set_model`."""
        if self._markers is None or self._overlay is None:
            raise RuntimeError("ObjectOutputs.set_model() must be called before results are published")
        return self._markers, self._overlay

    def detection(self, header: Header, result: PoseResult) -> Detection3D | None:
        """The object's entry on ``detections`` (see detection_messages), or None when the result has no pose."""
        if result.T_cam_obj is None:
            return None
        if self._mesh_box is None:
            raise RuntimeError("ObjectOutputs.set_model() must be called before results are published")
        return detection_3d(header, result.T_cam_obj, result.score, self._class_id, self._object_frame,
                            self._mesh_box)

    @property
    def overlay_wanted(self) -> bool:
        """Whether anyone subscribes to ``overlay`` (drawing it costs milliseconds per frame)."""
        return self._overlay_pub.get_subscription_count() > 0

    @property
    def markers_wanted(self) -> bool:
        """Whether anyone subscribes to ``markers``.

        Building and publishing the four markers is a good part of what the node does per object and frame
        outside the engine, for an rviz that is usually not running (volatile QoS: a subscriber joining
        later gets the next frame's markers, never older ones).
        """
        return self._markers_pub.get_subscription_count() > 0

    def publish_result(self, header: Header, result: PoseResult, timing: FrameTiming) -> TransformStamped | None:
        """Pose and markers (while someone subscribes) when the result has a pose; always the status.

        Returns:
            the pose as a TF transform (``header.frame_id`` -> the object frame), or None without a pose.
        """
        markers = self._model_outputs()[0]
        T_cam_obj = result.T_cam_obj  # not None exactly when the result has a pose
        transform = None
        if T_cam_obj is not None:
            self._pose_pub.publish(PoseStamped(header=header, pose=pose_from_matrix(T_cam_obj)))
            transform = transform_stamped(T_cam_obj, header, self._object_frame)
            if self.markers_wanted:
                self._markers_pub.publish(markers.pose_markers(header, T_cam_obj))
                self._markers_shown = True
        elif self._markers_shown:
            self._markers_pub.publish(markers.delete_markers(header))
            self._markers_shown = False
        self.publish_status(header, result.mode, message=result.reason, result=result, timing=timing)
        return transform

    def publish_status(self, header: Header, mode: TrackingMode, message: str, result: PoseResult | None = None,
                       timing: FrameTiming | None = None) -> None:
        """A status message; without a result it reports an input problem for a frame that was not processed."""
        status = TrackingStatus(header=header, object_frame=self._object_frame, mesh_file=self._mesh_file,
                                mode=MODE_VALUES[mode], mode_name=mode.value, message=message)
        if result is not None:
            status.pose_published = result.has_pose
            status.score = float(result.score)
            status.visible_fraction = float(result.visible_fraction)
            status.num_hypotheses = int(result.n_hypotheses)
        if timing is not None:
            status.processing_ms = float(timing.processing_ms)
            status.frames_processed = timing.frames_processed
            status.frames_dropped = timing.frames_dropped
            status.latency_ms = float((time.monotonic() - timing.received_s) * 1e3)
        self._status_pub.publish(status)

    def publish_overlay(self, header: Header, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                        result: PoseResult) -> None:
        """The colour image with the pose's outline and axes."""
        image = self._model_outputs()[1].draw(rgb, intrinsics, result.T_cam_obj, result.mode.value, result.score)
        self._overlay_pub.publish(rgb_to_image_msg(image, header))
