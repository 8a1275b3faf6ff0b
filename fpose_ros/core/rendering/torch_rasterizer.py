"""The pure-torch renderer: :func:`~fpose_ros.core.rendering.rasterize.rasterize`, then :func:`.shade_fragments`.

Pure torch, so the same code runs on CPU and CUDA. Per render: O(V) to pose and project the
vertices, O(candidate pairs) to rasterise (see :mod:`.rasterize`), O(drawn pixels) to look up
colours, points and normals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from fpose_ros.core.rendering.base import RASTER_FACE_BUDGET, MeshTensors, RenderOutput
from fpose_ros.core.rendering.fragment_shading import shade_fragments
from fpose_ros.core.rendering.rasterize import rasterize
from fpose_ros.core.rendering.shading import HeadlightShading
from fpose_ros.core.transforms import transform_points


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
    face_budget: ClassVar[int] = RASTER_FACE_BUDGET

    def with_backface_culling(self) -> TorchRasterizer:
        """A copy that skips triangles seen from behind (see :class:`~fpose_ros.core.rendering.base.Renderer`)."""
        return dataclasses.replace(self, cull_backfaces=True)

    def render(
        self, mesh: MeshTensors, T_cam_centered: torch.Tensor, K: torch.Tensor, height: int, width: int
    ) -> RenderOutput:
        """Render B poses of ``mesh``; see :meth:`fpose_ros.core.rendering.base.Renderer.render`."""
        T = T_cam_centered.to(mesh.vertices.dtype)
        B = T.shape[0]
        K = K.to(T).expand(B, 3, 3) if K.dim() == 2 else K.to(T)
        vertices_cam = transform_points(T, mesh.vertices[None])  # (B, V, 3)
        fragments = rasterize(vertices_cam, mesh.faces, K, height, width, self.cull_backfaces, self.max_candidates)

        return shade_fragments(mesh, T, K, fragments, self.shading)
