"""The ``overlay`` image: the colour image with the object's projected outline and axes (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from fpose_ros.core.camera import CameraIntrinsics

_MODE_COLOURS = {"tracking": (0, 220, 0), "registering": (255, 200, 0), "occluded": (255, 140, 0),
                 "lost": (255, 40, 40)}
_AXIS_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))  # x red, y green, z blue, as rviz draws axes
_SUBPIXEL_BITS = 4  # OpenCV drawing with fixed-point coordinates for sub-pixel accurate lines


class OverlayRenderer:
    """Draws one object's silhouette outline and axes onto RGB images.

    Args:
        vertices: (V, 3) mesh vertices in the mesh file's frame, metres (the frame poses refer to).
        faces: (F, 3) triangle vertex indices, counter-clockwise seen from outside.
        axis_length: length of the drawn axes, metres.
        outline_colour: RGB (0-255) of the outline, the object's palette colour where the node tracks
            several (:func:`~fpose_ros.ros.markers.object_colour`); None: the mode's colour. The caption
            always takes the mode's colour.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, axis_length: float,
                 outline_colour: tuple[int, int, int] | None = None) -> None:
        self._vertices = np.asarray(vertices, dtype=np.float64)
        self._faces = np.asarray(faces, dtype=np.int64)
        self._axis_length = float(axis_length)
        self._outline_colour = outline_colour

    def draw(self, rgb: np.ndarray, intrinsics: CameraIntrinsics, T_cam_obj: np.ndarray | None,
             mode: str, score: float) -> np.ndarray:
        """A copy of ``rgb`` with the outline and axes of the pose (if any) and a mode / score caption."""
        out = np.array(rgb, dtype=np.uint8, copy=True)
        colour = _MODE_COLOURS.get(mode, (255, 255, 255))
        if T_cam_obj is not None:
            self._draw_outline(out, intrinsics, T_cam_obj, self._outline_colour or colour)
            self._draw_axes(out, intrinsics, T_cam_obj)
        caption = f"{mode} {score:.2f}" if T_cam_obj is not None else mode
        cv2.putText(out, caption, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(out, caption, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2, cv2.LINE_AA)
        return out

    def _draw_outline(self, out: np.ndarray, intrinsics: CameraIntrinsics, T_cam_obj: np.ndarray,
                      colour: tuple[int, int, int]) -> None:
        points = self._vertices @ T_cam_obj[:3, :3].T + T_cam_obj[:3, 3]
        if (points[:, 2] <= 1e-3).any():  # behind or at the camera: the projection is meaningless
            return
        uv = _project(points, intrinsics)
        fixed = np.round(uv[self._faces] * (1 << _SUBPIXEL_BITS)).astype(np.int32)  # (F, 3, 2)
        silhouette = np.zeros(out.shape[:2], dtype=np.uint8)
        # One call per triangle: fillPoly with many polygons uses the even-odd rule and leaves overlaps empty.
        for triangle in fixed:
            cv2.fillConvexPoly(silhouette, triangle, 255, cv2.LINE_8, _SUBPIXEL_BITS)
        contours, _ = cv2.findContours(silhouette, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, colour, 2, cv2.LINE_AA)

    def _draw_axes(self, out: np.ndarray, intrinsics: CameraIntrinsics, T_cam_obj: np.ndarray) -> None:
        ends = np.vstack([np.zeros(3), np.eye(3) * self._axis_length])
        points = ends @ T_cam_obj[:3, :3].T + T_cam_obj[:3, 3]
        if (points[:, 2] <= 1e-3).any():
            return
        uv = np.round(_project(points, intrinsics) * (1 << _SUBPIXEL_BITS)).astype(np.int64)
        origin = tuple(int(v) for v in uv[0])
        for end, colour in zip(uv[1:], _AXIS_COLOURS, strict=True):
            cv2.line(out, origin, tuple(int(v) for v in end), colour, 2, cv2.LINE_AA, _SUBPIXEL_BITS)


def _project(points: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(N, 3) camera-frame points with z > 0 -> (N, 2) pixel coordinates."""
    u = intrinsics.fx * points[:, 0] / points[:, 2] + intrinsics.cx
    v = intrinsics.fy * points[:, 1] / points[:, 2] + intrinsics.cy
    return np.stack([u, v], axis=1)
