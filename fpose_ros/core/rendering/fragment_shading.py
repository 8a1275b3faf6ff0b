"""From fragments to images: what every rasteriser or ray caster shares after visibility is solved.

A visibility backend (the torch rasteriser, the Embree ray caster) finds, for every pixel, the
visible triangle, its depth and barycentric weights (:class:`~fpose_ros.core.rendering.rasterize.Fragments`);
:func:`shade_fragments` turns those into the :class:`RenderOutput` contract: camera-frame points,
normals and shaded colour. Cost: O(B * H * W) for the points, O(drawn pixels) for the look-ups.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fpose_ros.core.rendering.base import MeshTensors, RenderOutput
from fpose_ros.core.rendering.rasterize import Fragments
from fpose_ros.core.rendering.shading import HeadlightShading


def shade_fragments(mesh: MeshTensors, T_cam_centered: torch.Tensor, K: torch.Tensor, fragments: Fragments,
                    shading: HeadlightShading) -> RenderOutput:
    """Points, normals and colour of the visible surface.

    Args:
        mesh: the object that was drawn.
        T_cam_centered: (B, 4, 4) float32 poses it was drawn at.
        K: (B, 3, 3) float32 pinhole matrices it was drawn with.
        fragments: (B, H, W) visible triangle, depth and barycentric weights per pixel.
        shading: light model.

    Returns:
        :class:`RenderOutput`; background pixels are 0 everywhere.
    """
    T = T_cam_centered
    B, height, width = fragments.depth.shape
    mask = fragments.mask
    # Exact surface points: each pixel's viewing ray scaled to the visible depth (0 in the background).
    v, u = torch.meshgrid(torch.arange(height, device=T.device, dtype=T.dtype),
                          torch.arange(width, device=T.device, dtype=T.dtype), indexing="ij")
    pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # (H, W, 3)
    rays = pixels[None] @ torch.linalg.inv(K).transpose(1, 2)[:, None]  # (B, H, W, 3)
    xyz = rays * fragments.depth[..., None]

    drawn = torch.nonzero(mask.view(-1), as_tuple=True)[0]
    face = fragments.face_index.view(-1)[drawn]
    item = drawn // (height * width)
    # Normals of the drawn faces only: O(drawn pixels), whatever the mesh's triangle count.
    corners = mesh.vertices[mesh.faces[face]]  # (P, 3, 3) object frame
    normals_obj = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0], dim=-1)
    normals_obj = normals_obj / normals_obj.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    normals = (T[item, :3, :3] @ normals_obj[..., None])[..., 0]  # (P, 3) camera frame
    weights = fragments.bary.view(-1, 3)[drawn]
    points = xyz.view(-1, 3)[drawn]
    colour = shading(surface_colour(mesh, face, weights), normals, points)

    rgb = torch.zeros(B * height * width, 3, dtype=T.dtype, device=T.device)
    nrm = torch.zeros_like(rgb)
    rgb[drawn] = colour
    nrm[drawn] = normals
    return RenderOutput(rgb=rgb.view(B, height, width, 3), depth=fragments.depth, mask=mask, xyz=xyz,
                        normals=nrm.view(B, height, width, 3))


def surface_colour(mesh: MeshTensors, face: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(P, 3) albedo of points on faces ``face`` (P,) with barycentric ``weights`` (P, 3).

    The texture at the interpolated UV when the mesh has one, else the interpolated vertex colours.
    """
    idx = mesh.faces[face]  # (P, 3)
    if mesh.uv is not None and mesh.texture is not None and len(face) > 0:
        uv = interpolate(mesh.uv, idx, weights)  # (P, 2), v up as in OBJ files
        grid = torch.stack([uv[:, 0] * 2 - 1, 1 - uv[:, 1] * 2], dim=-1)[None, None]  # (1, 1, P, 2)
        tex = mesh.texture.permute(2, 0, 1)[None]  # (1, 3, Ht, Wt)
        return F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0].T
    return interpolate(mesh.vertex_colors, idx, weights)


def interpolate(attribute: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(P, C) attribute at points with corner vertex indices idx (P, 3) and weights (P, 3)."""
    return (attribute[idx[:, 0]] * weights[:, 0:1] + attribute[idx[:, 1]] * weights[:, 1:2]
            + attribute[idx[:, 2]] * weights[:, 2:3])
