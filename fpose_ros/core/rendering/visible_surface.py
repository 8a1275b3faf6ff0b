"""The visible surface of posed objects, rendered once on pose-conditioned crops and kept as point sets.

Refinement and scoring only need the drawn pixels of a rendering: their surface points, normals and
colours. Frozen in the object frame, they follow the pose as it changes (Gauss-Newton steps, the
next tracked frame) without rendering again, which stays exact while the view direction changes
little (only self-occlusion at the outline differs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from fpose_ros.core.appearance import crop_gradients
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics
from fpose_ros.core.rendering.base import MeshTensors, Renderer, RenderOutput
from fpose_ros.core.transforms import invert_transform, rotate_vectors, transform_points


@dataclass(frozen=True)
class VisibleSurface:
    """The drawn pixels of B crop renderings, as points in the centred object frame.

    Each row holds its crop's drawn pixels first; the rest of the row is padding (``valid`` False).

    Attributes:
        points: (B, N, 3) float32 surface points, centred object frame, metres.
        normals: (B, N, 3) float32 unit surface normals, object frame.
        rgb: (B, N, 3) float32 shaded colour in [0, 1].
        grad: (B, N, 2) float32 luminance gradient of the rendered crop, per crop pixel (meaningful on
            ``interior`` pixels; :func:`~fpose_ros.core.appearance.crop_gradients`).
        valid: (B, N) bool, a drawn pixel (not padding).
        interior: (B, N) bool, a drawn pixel whose 8 neighbours are drawn too (off the outline).
        T_cam_centered: (B, 4, 4) float32 poses the crops were rendered at.
        crop_scale: (B,) float32 crop pixels per image pixel (a sample covers ``1 / crop_scale^2``
            image pixels).
        diameter: object diameter, metres.
        crop_ratio: crop window radius / object radius.
        crop_size: crop side, pixels.
    """

    points: torch.Tensor
    normals: torch.Tensor
    rgb: torch.Tensor
    grad: torch.Tensor
    valid: torch.Tensor
    interior: torch.Tensor
    T_cam_centered: torch.Tensor
    crop_scale: torch.Tensor
    diameter: float
    crop_ratio: float
    crop_size: int

    def points_in_camera(self, T_cam_centered: torch.Tensor) -> torch.Tensor:
        """The points moved to (B, 4, 4) poses: (B, N, 3) camera-frame metres."""
        return transform_points(T_cam_centered, self.points)

    def repeated(self, k: int) -> VisibleSurface:
        """A one-crop surface as ``k`` identical rows (to move it to k poses at once); views, no copies."""
        if self.points.shape[0] != 1:
            raise ValueError(f"repeated() needs a surface of one crop, got {self.points.shape[0]}")
        def rows(t: torch.Tensor) -> torch.Tensor:
            return t.expand(k, *t.shape[1:])

        return dataclasses.replace(self, points=rows(self.points), normals=rows(self.normals), rgb=rows(self.rgb),
                                   grad=rows(self.grad), valid=rows(self.valid), interior=rows(self.interior),
                                   T_cam_centered=rows(self.T_cam_centered), crop_scale=rows(self.crop_scale))

    def crop_affine(self, T_cam_centered: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """(B, 3, 3) image-to-crop affines of this surface's crop windows at (B, 4, 4) poses."""
        return crop_affine(T_cam_centered, K, self.diameter, self.crop_ratio, self.crop_size)


def render_visible_surface(
    renderer: Renderer,
    mesh: MeshTensors,
    T_cam_centered: torch.Tensor,
    K: torch.Tensor,
    diameter: float,
    crop_ratio: float,
    crop_size: int,
) -> VisibleSurface:
    """Render B poses on their pose-conditioned crops and keep the drawn pixels.

    Args:
        renderer: drawing backend.
        mesh: the object.
        T_cam_centered: (B, 4, 4) float32 poses of the centred object frame.
        K: (3, 3) float32 intrinsics of the image the crops are cut from.
        diameter: object diameter, metres.
        crop_ratio: crop window radius / object radius.
        crop_size: crop side, pixels.

    Returns:
        :class:`VisibleSurface` with N = the most pixels any crop draws. O(renderer) + O(B * S^2 log S^2)
        for sorting the drawn pixels first (S = ``crop_size``).
    """
    M = crop_affine(T_cam_centered, K, diameter, crop_ratio, crop_size)
    out = renderer.render(mesh, T_cam_centered, crop_intrinsics(K, M), crop_size, crop_size)
    return visible_surface_from_rendering(out, T_cam_centered, M[:, 0, 0], diameter, crop_ratio)


def visible_surface_from_rendering(
    out: RenderOutput, T_cam_centered: torch.Tensor, crop_scale: torch.Tensor, diameter: float, crop_ratio: float
) -> VisibleSurface:
    """Keep the drawn pixels of B square crop renderings (see :func:`render_visible_surface`).

    Args:
        out: B renderings of S x S pixels.
        T_cam_centered: (B, 4, 4) float32 poses they were rendered at.
        crop_scale: (B,) float32 crop pixels per image pixel.
        diameter: object diameter, metres.
        crop_ratio: crop window radius / object radius.
    """
    B, S = out.mask.shape[:2]
    mask = out.mask.reshape(B, -1)
    # Dropping the background (half or more of a crop) halves every later step's work.
    n = max(int(mask.sum(-1).max()), 1)
    order = torch.argsort((~mask).to(torch.uint8), dim=-1, stable=True)[:, :n]
    T_centered_cam = invert_transform(T_cam_centered)
    R = T_centered_cam[:, :3, :3]

    def drawn(image: torch.Tensor) -> torch.Tensor:
        flat = image.reshape(B, S * S, -1)
        return torch.gather(flat, 1, order[..., None].expand(-1, -1, flat.shape[-1]))

    return VisibleSurface(
        points=transform_points(T_centered_cam, drawn(out.xyz)),
        normals=rotate_vectors(R, drawn(out.normals)),
        rgb=drawn(out.rgb),
        grad=drawn(crop_gradients(out.rgb)),
        valid=drawn(out.mask)[..., 0],
        interior=drawn(silhouette_interior(out.mask))[..., 0],
        T_cam_centered=T_cam_centered,
        crop_scale=crop_scale,
        diameter=diameter,
        crop_ratio=crop_ratio,
        crop_size=S,
    )


def silhouette_interior(mask: torch.Tensor) -> torch.Tensor:
    """(B, S, S) bool rendered masks -> pixels whose 8 neighbours are all drawn too (3x3 erosion)."""
    outside = (~mask)[:, None].to(torch.float32)
    return ~(torch.nn.functional.max_pool2d(outside, 3, stride=1, padding=1)[:, 0] > 0)
