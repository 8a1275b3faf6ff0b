"""Pose hypotheses for registration: icosphere viewpoints x in-plane rotations, one translation for all.

FoundationPose's released code samples 42 viewpoints (an icosphere subdivided once) and 6 in-plane
angles (every 60 deg): 252 rotations, all sharing the translation guessed from the mask and the
median masked depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import trimesh

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.transforms import make_transform

#: Icospheres with more subdivisions than this have > 40k vertices: far beyond any useful hypothesis count.
_MAX_SUBDIVISIONS = 6


@dataclass(frozen=True)
class IcosphereHypotheses:
    """Rotation hypotheses ``R_cam_centered`` of the centred object frame.

    Attributes:
        min_views: the icosphere is subdivided until it has at least this many vertices
            (12, 42, 162, 642, ... ; 40 -> 42 viewpoints).
        inplane_step_deg: step of the in-plane rotations about the camera z axis, degrees;
            angles ``0, step, 2 step, ... < 360`` (60 -> 6 angles).
    """

    min_views: int = 40
    inplane_step_deg: float = 60.0

    def __post_init__(self) -> None:
        if self.min_views < 1 or self.min_views > _icosphere_vertex_count(_MAX_SUBDIVISIONS):
            raise ConfigError(f"min_views must be in [1, {_icosphere_vertex_count(_MAX_SUBDIVISIONS)}], "
                              f"got {self.min_views}")
        if not 0.0 < self.inplane_step_deg <= 360.0:
            raise ConfigError(f"inplane_step_deg must be in (0, 360], got {self.inplane_step_deg}")

    @property
    def subdivisions(self) -> int:
        """Icosphere subdivision level giving at least ``min_views`` vertices."""
        level = 0
        while _icosphere_vertex_count(level) < self.min_views:
            level += 1
        return level

    @property
    def inplane_angles_rad(self) -> np.ndarray:
        """(I,) float64 in-plane angles in radians, ``[0, 2 pi)``."""
        return np.deg2rad(np.arange(0.0, 360.0 - 1e-9, self.inplane_step_deg))

    def viewpoints(self) -> np.ndarray:
        """(V, 3) float64 unit vectors from the object centre towards the camera, in the object frame."""
        vertices = np.asarray(trimesh.creation.icosphere(subdivisions=self.subdivisions).vertices, dtype=np.float64)
        return vertices / np.linalg.norm(vertices, axis=1, keepdims=True)

    def rotations(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """All hypotheses, viewpoint-major: index ``v * I + i`` is viewpoint ``v``, in-plane angle ``i``.

        Returns:
            (V * I, 3, 3) float32 ``R_cam_centered`` on ``device`` (252 with the defaults).
        """
        R_view = view_rotations(self.viewpoints())  # (V, 3, 3)
        R_inplane = _rotations_about_z(self.inplane_angles_rad)  # (I, 3, 3)
        # Rotating about the camera z axis keeps the object centre on it: left-multiply in the camera frame.
        R = R_inplane[None, :, :, :] @ R_view[:, None, :, :]  # (V, I, 3, 3)
        return torch.as_tensor(R.reshape(-1, 3, 3), dtype=torch.float32, device=device)


def view_rotations(viewpoints: np.ndarray) -> np.ndarray:
    """``R_cam_centered`` of cameras looking at the object centre from each viewpoint.

    The camera z axis points from the camera to the centre (``-v`` in the object frame);
    ``x = (0, 0, 1) x z`` normalised (``(0, 1, 0)`` replaces the up vector when ``z`` is parallel
    to it); ``y = z x x``.

    Args:
        viewpoints: (V, 3) unit vectors from the object centre towards the camera, object frame.

    Returns:
        (V, 3, 3) float64 rotations; ``R @ v = (0, 0, -1)`` for each viewpoint ``v``.
    """
    z = -np.asarray(viewpoints, dtype=np.float64)
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), z.shape)
    parallel = np.linalg.norm(np.cross(up, z), axis=1) < 1e-6
    up = np.where(parallel[:, None], np.array([0.0, 1.0, 0.0]), up)
    x = np.cross(up, z)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    # Rows are the camera axes in object coordinates, i.e. R_cam_centered = (R_obj_cam)^T.
    return np.stack([x, y, z], axis=1)


def initial_translation(
    depth: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, min_valid: int = 4
) -> torch.Tensor | None:
    """Guess the object centre from a detector mask and depth, as FoundationPose does.

    The pixel is the centre of the mask's bounding box (pixel centres at integers); its depth is the
    median of the valid (> 0.001 m, finite) depth inside the mask; the point is ``z * K^-1 [u, v, 1]``.

    Args:
        depth: (H, W) float32 metres, 0 = invalid.
        mask: (H, W) bool, True on the object.
        K: (3, 3) float32 intrinsics.
        min_valid: fewest valid masked depth pixels to trust the median.

    Returns:
        (3,) float32 camera-frame translation in metres on ``depth``'s device, or None when the mask
        holds fewer than ``min_valid`` valid depth pixels. O(H*W + n log n), n masked pixels.
    """
    if depth.dim() != 2 or mask.shape != depth.shape:
        raise InputError(f"depth (H, W) and mask (H, W) must match, got {tuple(depth.shape)} and {tuple(mask.shape)}")
    if K.shape != (3, 3):
        raise InputError(f"K must be (3, 3), got {tuple(K.shape)}")
    mask = mask.to(dtype=torch.bool, device=depth.device)
    valid = mask & torch.isfinite(depth) & (depth > 0.001)
    if int(valid.sum()) < max(min_valid, 1):
        return None
    rows = torch.nonzero(mask.any(dim=1))[:, 0]
    cols = torch.nonzero(mask.any(dim=0))[:, 0]
    u = 0.5 * (cols[0] + cols[-1]).to(depth.dtype)
    v = 0.5 * (rows[0] + rows[-1]).to(depth.dtype)
    # quantile interpolates: the mean of the two middle values for even counts (numpy's median).
    z = torch.quantile(depth[valid], 0.5)
    pixel = torch.stack([u, v, torch.ones_like(u)])
    return torch.linalg.inv(K.to(dtype=depth.dtype, device=depth.device)) @ pixel * z


def hypothesis_poses(rotations: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) rotations ``R_cam_centered`` and one (3,) translation -> (N, 4, 4) ``T_cam_centered``.

    The result has the rotations' dtype and device.
    """
    if rotations.dim() != 3 or rotations.shape[-2:] != (3, 3) or translation.shape != (3,):
        raise InputError(f"expected (N, 3, 3) rotations and a (3,) translation, got {tuple(rotations.shape)} "
                         f"and {tuple(translation.shape)}")
    t = translation.to(dtype=rotations.dtype, device=rotations.device).expand(rotations.shape[0], 3)
    return make_transform(rotations, t)


def _rotations_about_z(angles: np.ndarray) -> np.ndarray:
    """(I,) radians -> (I, 3, 3) float64 rotations about the z axis."""
    c, s = np.cos(angles), np.sin(angles)
    R = np.zeros((len(angles), 3, 3))
    R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = c, -s, s, c, 1.0
    return R


def _icosphere_vertex_count(subdivisions: int) -> int:
    """Vertices of an icosphere: 10 * 4^n + 2."""
    return 10 * 4**subdivisions + 2

