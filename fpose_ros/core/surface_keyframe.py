"""Tracking keyframes: reuse one rendering of the object's visible surface while the view barely changes.

Which part of an object a camera sees depends only on where the camera is *as seen from the object*:
the direction from the object's centre to the camera and, through perspective, its distance.
Turning the object about the viewing ray or moving it along a ray changes neither. While both stay
close to those of the last rendering, its surface points (frozen in the object frame) are the
surface a new rendering would give, apart from a thin band at the outline, so tracking refines and
scores on them without rendering; a frame whose view has moved on renders a new keyframe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fpose_ros.core.rendering.visible_surface import VisibleSurface
from fpose_ros.core.validated_config import param, validate


@dataclass(frozen=True)
class KeyframeConfig:
    """When a kept rendering no longer stands for the current view (each field's meaning and range: its ``param``)."""

    max_view_change_deg: float = param(
        2.0, "Largest angle between the camera's directions seen from the object (now and at the keyframe), "
             "degrees; 0 renders every frame.", range=(0, 30), unit="degrees")
    max_distance_change: float = param(
        0.05, "Largest relative change of the camera's distance from the object centre.", range=(0, 0.5))

    def __post_init__(self) -> None:
        validate(self)


def camera_in_object(T_cam_centered: np.ndarray) -> np.ndarray:
    """(3,) position of the camera in the centred object frame, metres, from a (4, 4) ``T_cam_centered``."""
    return -T_cam_centered[:3, :3].T @ T_cam_centered[:3, 3]


class SurfaceKeyframe:
    """Holds the last tracking rendering (one pose) and says whether it still stands for a pose.

    Attributes:
        lookups: calls of :meth:`lookup` so far.
        hits: those that returned the kept surface (frames tracked without rendering).
    """

    def __init__(self, config: KeyframeConfig | None = None) -> None:
        self.config = config or KeyframeConfig()
        self._surface: VisibleSurface | None = None
        self._camera: np.ndarray | None = None
        self.lookups = 0
        self.hits = 0

    def lookup(self, T_cam_centered: np.ndarray) -> VisibleSurface | None:
        """The kept surface if its view is within the limits of pose ``T_cam_centered`` (4, 4), else None."""
        self.lookups += 1
        surface = self._still_valid(np.asarray(T_cam_centered, dtype=np.float64))
        self.hits += surface is not None
        return surface

    def _still_valid(self, T_cam_centered: np.ndarray) -> VisibleSurface | None:
        if self._surface is None or self._camera is None or self.config.max_view_change_deg == 0:
            return None
        now = camera_in_object(T_cam_centered)
        then = self._camera
        d_now, d_then = float(np.linalg.norm(now)), float(np.linalg.norm(then))
        if d_now <= 0 or d_then <= 0 or abs(d_now / d_then - 1.0) > self.config.max_distance_change:
            return None
        cos = float(np.dot(now, then)) / (d_now * d_then)
        if math.degrees(math.acos(min(max(cos, -1.0), 1.0))) > self.config.max_view_change_deg:
            return None
        return self._surface

    def store(self, surface: VisibleSurface) -> None:
        """Keep ``surface`` (a single pose's rendering) as the keyframe; one from a non-finite pose clears it."""
        if surface is self._surface:  # the kept one came back unchanged (a frame tracked without rendering)
            return
        if surface.points.shape[0] != 1:
            raise ValueError(f"a keyframe holds one pose's surface, got {surface.points.shape[0]}")
        camera = camera_in_object(surface.T_cam_centered[0].detach().cpu().numpy().astype(np.float64))
        if not np.isfinite(camera).all():
            self.clear()
            return
        self._surface, self._camera = surface, camera

    def clear(self) -> None:
        """Forget the keyframe (the next frame renders)."""
        self._surface = None
        self._camera = None
