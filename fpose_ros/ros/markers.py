"""The ``markers`` topic: the object's mesh and axes for rviz, at the tracked pose; each object's own colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from fpose_ros.ros.pose_conversion import pose_from_matrix

_AXIS_COLOURS = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
_MESH_GREY = (204, 204, 204)  # the single-object node's mesh colour
#: Colours of the objects of a multi-object node, by object index (RGB, 0-255; repeats after the last):
#: the Okabe-Ito colour-blind-safe palette without black, blue first (the overlay's mode colours,
#: green to red, stay on the caption).
OBJECT_PALETTE: tuple[tuple[int, int, int], ...] = (
    (86, 180, 233), (230, 159, 0), (204, 121, 167), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0))
#: Markers vanish on their own when no new pose arrives (node stopped, object lost), so rviz
#: never shows a stale pose for long; 0.5 s is 15 frames at 30 Hz.
MARKER_LIFETIME = Duration(sec=0, nanosec=500_000_000)


def object_colour(index: int) -> tuple[int, int, int]:
    """The RGB (0-255) colour of the object at ``index`` (0-based) in a multi-object node: :data:`OBJECT_PALETTE`."""
    return OBJECT_PALETTE[index % len(OBJECT_PALETTE)]


class MarkerFactory:
    """Builds the MarkerArray of one object: MESH_RESOURCE marker (id 0) and x/y/z arrows (ids 1-3).

    Markers are expressed in the image's optical frame with the pose set on each marker (not in
    ``object_frame`` through TF), so rviz draws them even when it has no TF for that stamp yet.

    Args:
        mesh_file: the mesh the node tracks (rviz loads it through a ``file://`` URI).
        mesh_scale: the node's ``mesh_scale`` (mesh units -> metres), applied by rviz as marker scale.
        namespace: marker namespace; the object's TF frame name keeps several objects apart.
        axis_length: arrow length in metres.
        colour: the mesh's RGB (0-255) tint, the object's palette colour where the node tracks several
            (:func:`object_colour`); None: light grey.
    """

    def __init__(self, mesh_file: str, mesh_scale: float, namespace: str, axis_length: float,
                 colour: tuple[int, int, int] | None = None) -> None:
        r, g, b = (c / 255.0 for c in (colour or _MESH_GREY))
        self._mesh_colour = ColorRGBA(r=r, g=g, b=b, a=0.8)
        self._mesh_uri = Path(mesh_file).resolve().as_uri()
        self._scale = float(mesh_scale)
        self._ns = namespace
        self._axis_length = float(axis_length)

    def pose_markers(self, header: Header, T_cam_obj: np.ndarray) -> MarkerArray:
        """Mesh and axes at ``T_cam_obj`` (mesh-file frame in ``header.frame_id``)."""
        pose = pose_from_matrix(T_cam_obj)
        mesh = Marker(header=header, ns=self._ns, id=0, type=Marker.MESH_RESOURCE, action=Marker.ADD, pose=pose,
                      scale=Vector3(x=self._scale, y=self._scale, z=self._scale), lifetime=MARKER_LIFETIME,
                      mesh_resource=self._mesh_uri, mesh_use_embedded_materials=True,
                      color=self._mesh_colour)
        markers = [mesh]
        shaft = 0.05 * self._axis_length
        for axis, (r, g, b) in enumerate(_AXIS_COLOURS):
            end = np.zeros(3)
            end[axis] = self._axis_length
            arrow = Marker(header=header, ns=self._ns, id=axis + 1, type=Marker.ARROW, action=Marker.ADD, pose=pose,
                           scale=Vector3(x=shaft, y=2 * shaft, z=3 * shaft), lifetime=MARKER_LIFETIME,
                           color=ColorRGBA(r=r, g=g, b=b, a=1.0),
                           points=[Point(), Point(x=float(end[0]), y=float(end[1]), z=float(end[2]))])
            markers.append(arrow)
        return MarkerArray(markers=markers)

    def delete_markers(self, header: Header) -> MarkerArray:
        """Remove this object's markers (tracking lost, or a new mesh)."""
        return MarkerArray(markers=[Marker(header=header, ns=self._ns, id=i, action=Marker.DELETE) for i in range(4)])
