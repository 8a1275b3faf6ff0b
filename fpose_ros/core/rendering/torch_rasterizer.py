"""The default renderer: :func:`~fpose_ros.core.rendering.rasterize.rasterize` + attribute lookup + shading.

Pure torch, so the same code runs on CPU and CUDA. Per render: O(V) to pose and project the
vertices, O(candidate pairs) to rasterise (see :mod:`.rasterize`), O(drawn pixels) to look up
colours, points and normals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from fpose_ros.core.rendering.base import MeshTensors, RenderOutput
from fpose_ros.core.rendering.rasterize import rasterize
from fpose_ros.core.rendering.shading import HeadlightShading


@dataclass(frozen=True)
class TorchRasterizer:
    """Draws a batch of poses of one mesh (implements :class:`~fpose_ros.core.rendering.base.Renderer`).

    Attributes:
        shading: turns surface colour and geometry into pixel colour.
        cull_backfaces: skip triangles seen from behind (~2x faster); only for closed meshes with
            consistent outward winding (see :func:`fpose_ros.core.mesh_simplification.is_closed_and_oriented`).
        max_candidates: memory bound of the rasteriser, (triangle, pixel) pairs per chunk.
    """

    shading: HeadlightShading = field(default_factory=HeadlightShading)
    cull_backfaces: bool = False
    max_candidates: int = 4_000_000

    def render(
        self,
        mesh: MeshTensors,
        T_cam_obj: torch.Tensor,
        K: torch.Tensor,
        height: int,
        width: int,
    ) -> RenderOutput:
        """Render B poses of ``mesh``.

        Args:
            mesh: the object, on the device of ``T_cam_obj``.
            T_cam_obj: (B, 4, 4) float32 poses of the mesh frame in the camera optical frame.
            K: (B, 3, 3) or (3, 3) float32 pinhole matrices, pixel centres at integer coordinates.
            height, width: output size, pixels.

        Returns:
            :class:`RenderOutput` with (B, H, W[, 3]) tensors; background is 0 everywhere.
        """
        T = T_cam_obj.to(mesh.vertices.dtype)
        B = T.shape[0]
        K = K.to(T).expand(B, 3, 3) if K.dim() == 2 else K.to(T)
        vertices_cam = mesh.vertices[None] @ T[:, :3, :3].transpose(1, 2) + T[:, None, :3, 3]  # (B, V, 3)
        fragments = rasterize(vertices_cam, mesh.faces, K, height, width, self.cull_backfaces, self.max_candidates)

        mask = fragments.mask
        # Exact surface points: each pixel's viewing ray scaled to the plane depth (0 in the background).
        v, u = torch.meshgrid(torch.arange(height, device=T.device, dtype=T.dtype),
                              torch.arange(width, device=T.device, dtype=T.dtype), indexing="ij")
        pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # (H, W, 3)
        rays = pixels[None] @ torch.linalg.inv(K).transpose(1, 2)[:, None]  # (B, H, W, 3)
        xyz = rays * fragments.depth[..., None]

        drawn = torch.nonzero(mask.view(-1), as_tuple=True)[0]
        face = fragments.face_index.view(-1)[drawn]
        item = drawn // (height * width)
        corners = mesh.vertices[mesh.faces]  # (F, 3, 3) object frame
        face_normals = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0], dim=-1)
        face_normals = face_normals / face_normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        normals_cam = face_normals[None] @ T[:, :3, :3].transpose(1, 2)  # (B, F, 3)
        normals = normals_cam.view(-1, 3)[item * len(mesh.faces) + face]
        weights = fragments.bary.view(-1, 3)[drawn]
        points = xyz.view(-1, 3)[drawn]
        colour = self.shading(_surface_colour(mesh, face, weights), normals, points)

        rgb = torch.zeros(B * height * width, 3, dtype=T.dtype, device=T.device)
        nrm = torch.zeros_like(rgb)
        rgb[drawn] = colour
        nrm[drawn] = normals
        return RenderOutput(rgb=rgb.view(B, height, width, 3), depth=fragments.depth, mask=mask, xyz=xyz,
                            normals=nrm.view(B, height, width, 3))


def _surface_colour(mesh: MeshTensors, face: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(P, 3) albedo: the texture at the interpolated UV when the mesh has one, else vertex colours."""
    idx = mesh.faces[face]  # (P, 3)
    if mesh.uv is not None and mesh.texture is not None and len(face) > 0:
        uv = _interpolate(mesh.uv, idx, weights)  # (P, 2), v up as in OBJ files
        grid = torch.stack([uv[:, 0] * 2 - 1, 1 - uv[:, 1] * 2], dim=-1)[None, None]  # (1, 1, P, 2)
        tex = mesh.texture.permute(2, 0, 1)[None]  # (1, 3, Ht, Wt)
        return F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0].T
    return _interpolate(mesh.vertex_colors, idx, weights)


def _interpolate(attribute: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(P, C) attribute at points with corner vertex indices idx (P, 3) and weights (P, 3)."""
    return (attribute[idx[:, 0]] * weights[:, 0:1] + attribute[idx[:, 1]] * weights[:, 1:2]
            + attribute[idx[:, 2]] * weights[:, 2:3])
