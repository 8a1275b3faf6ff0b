"""The renderer interface every backend implements.

One primitive serves crops and full frames alike: a pose-conditioned crop is
a pinhole camera whose matrix is ``M @ K`` (``M`` the crop's pixel affine), so
``render(mesh, T_cam_centered, K_crop, 160, 160)`` draws the crop directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from fpose_ros.core.object_model import ObjectModel


@dataclass(frozen=True)
class MeshTensors:
    """An :class:`ObjectModel`'s geometry and colour as tensors on one device.

    Attributes:
        vertices: (V, 3) float32, centred object frame, metres.
        faces: (F, 3) int64.
        vertex_colors: (V, 3) float32 in [0, 1].
        uv: (V, 2) float32 or None.
        texture: (Ht, Wt, 3) float32 in [0, 1] or None.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    vertex_colors: torch.Tensor
    uv: torch.Tensor | None = None
    texture: torch.Tensor | None = None

    @classmethod
    def from_object_model(cls, model: ObjectModel, device: torch.device | str = "cpu") -> MeshTensors:
        """The model's arrays as tensors on ``device`` (shared memory where already on the CPU)."""
        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, device=device)

        return cls(t(model.vertices), t(model.faces), t(model.vertex_colors),
                   None if model.uv is None else t(model.uv), None if model.texture is None else t(model.texture))

    @property
    def device(self) -> torch.device:
        """Device of the mesh's tensors."""
        return self.vertices.device


@dataclass(frozen=True)
class RenderOutput:
    """A batch of B renderings of H x W pixels; background pixels are 0 everywhere.

    Attributes:
        rgb: (B, H, W, 3) float32 shaded colour in [0, 1].
        depth: (B, H, W) float32 z in metres (camera frame), 0 = background.
        mask: (B, H, W) bool, True where the object is drawn.
        xyz: (B, H, W, 3) float32 camera-frame points, metres.
        normals: (B, H, W, 3) float32 camera-frame unit surface normals.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    xyz: torch.Tensor
    normals: torch.Tensor


#: Default triangle budget with a ray caster (its cost is O(rays x log F)).
RAY_CAST_FACE_BUDGET = 100_000
#: Default triangle budget with a rasteriser (its cost grows with B x F).
RASTER_FACE_BUDGET = 3000


class Renderer(Protocol):
    """Draws a batch of poses of one mesh.

    Implementations: :mod:`fpose_ros.core.rendering.torch_rasterizer` (CPU/CUDA, pure torch),
    and optional backends imported lazily when their library is installed.
    """

    # A read-only member, so that a class constant (as the backends declare it) satisfies the protocol.
    @property
    def face_budget(self) -> int:
        """Default triangle count the engine simplifies the mesh to for this renderer.

        :data:`RAY_CAST_FACE_BUDGET` or :data:`RASTER_FACE_BUDGET`.
        """
        ...

    def with_backface_culling(self) -> Renderer:
        """This renderer skipping triangles seen from behind, or itself when it cannot.

        The engine asks for it only when the meshes are closed and outward-wound, which never show
        a back face, so the images are the same.
        """
        ...

    def render(
        self,
        mesh: MeshTensors,
        T_cam_centered: torch.Tensor,
        K: torch.Tensor,
        height: int,
        width: int,
    ) -> RenderOutput:
        """Render B poses of ``mesh``.

        Args:
            mesh: the object, on the renderer's device.
            T_cam_centered: (B, 4, 4) float32 poses of the centred object frame (that of ``mesh``'s
                vertices) in the camera optical frame.
            K: (B, 3, 3) or (3, 3) float32 pinhole matrices, pixel centres at integer coordinates.
            height, width: output size in pixels.

        Returns:
            :class:`RenderOutput` with (B, H, W[, 3]) tensors; background is 0 everywhere.
        """
        ...
