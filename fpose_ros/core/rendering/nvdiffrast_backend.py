"""Optional CUDA renderer on nvdiffrast's public API.

Uses ``RasterizeCudaContext``, ``rasterize``, ``interpolate`` and ``texture``; implements
:class:`~fpose_ros.core.rendering.base.Renderer` with the torch rasteriser's output.

nvdiffrast is installed by the user (NVIDIA source licence, non-commercial) and imported only when this
renderer is constructed. Pinhole ``K`` (pixel centres at integers) becomes a clip-space projection with
``w = z``; nvdiffrast's first output row is NDC ``y = -1``, which is the image's top row in OpenCV's
y-down convention, so no flip is needed. Cost: one rasterisation of B x H x W pixels on the GPU.
"""

from __future__ import annotations

import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.base import RASTER_FACE_BUDGET, MeshTensors, RenderOutput
from fpose_ros.core.rendering.shading import HeadlightShading
from fpose_ros.core.transforms import transform_points

#: Clip planes of the projection, metres; depth is read from interpolated camera points, not from z-buffer
#: values, so they only bound what is drawn.
_NEAR_M, _FAR_M = 1e-3, 100.0


def projection_clip(points_cam: torch.Tensor, K: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Camera-frame points -> clip coordinates for nvdiffrast.

    Args:
        points_cam: (B, V, 3) float32 camera-frame points, metres.
        K: (B, 3, 3) float32 pinhole matrices, pixel centres at integers.
        height, width: image size, pixels.

    Returns:
        (B, V, 4) clip coordinates with ``w = z``: NDC ``x = (2 u + 1) / W - 1`` for pixel column ``u``
        (so pixel centre ``u`` sits at the centre of nvdiffrast's pixel ``u``), likewise ``y`` with rows. O(B V).
    """
    x, y, z = points_cam.unbind(-1)
    fx, fy = K[:, 0, 0, None], K[:, 1, 1, None]
    cx, cy = K[:, 0, 2, None], K[:, 1, 2, None]
    u_times_z = fx * x + cx * z
    v_times_z = fy * y + cy * z
    x_clip = (2.0 * u_times_z + z) / width - z
    y_clip = (2.0 * v_times_z + z) / height - z
    z_clip = z * (_FAR_M + _NEAR_M) / (_FAR_M - _NEAR_M) - 2.0 * _FAR_M * _NEAR_M / (_FAR_M - _NEAR_M)
    return torch.stack([x_clip, y_clip, z_clip, z], dim=-1)


class NvdiffrastRenderer:
    """Renders with nvdiffrast on a CUDA device (implements ``Renderer``).

    Args:
        device: a CUDA device.
        shading: turns surface colour and geometry into pixel colour (as the torch rasteriser).

    Raises:
        ConfigError: ``device`` is not CUDA, or nvdiffrast is not installed.
    """

    face_budget = RASTER_FACE_BUDGET

    def __init__(self, device: torch.device | str = "cuda", shading: HeadlightShading | None = None) -> None:
        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise ConfigError(f"the nvdiffrast renderer needs a CUDA device, not {self.device}")
        try:
            import nvdiffrast.torch as dr
        except ImportError as exc:
            raise ConfigError("the nvdiffrast renderer needs nvdiffrast (pip install it from NVlabs/nvdiffrast; "
                              "non-commercial licence)") from exc
        self._dr = dr
        self._context = dr.RasterizeCudaContext(device=self.device)
        self.shading = shading or HeadlightShading()

    def with_backface_culling(self) -> NvdiffrastRenderer:
        """Itself: nvdiffrast's hardware rasteriser gains little from culling."""
        return self

    def render(
        self, mesh: MeshTensors, T_cam_centered: torch.Tensor, K: torch.Tensor, height: int, width: int
    ) -> RenderOutput:
        """Render B poses of ``mesh``; see :meth:`fpose_ros.core.rendering.base.Renderer.render`."""
        dr = self._dr
        T = T_cam_centered.to(device=self.device, dtype=torch.float32)
        B = T.shape[0]
        K = K.to(T).expand(B, 3, 3) if K.dim() == 2 else K.to(T)
        vertices = mesh.vertices.to(T)
        faces = mesh.faces.to(device=self.device, dtype=torch.int32).contiguous()
        points = transform_points(T, vertices[None])  # (B, V, 3)
        rast, _ = dr.rasterize(self._context, projection_clip(points, K, height, width).contiguous(), faces,
                               resolution=[height, width])
        mask = rast[..., 3] > 0
        xyz, _ = dr.interpolate(points.contiguous(), rast, faces)
        xyz = xyz * mask[..., None]
        face = (rast[..., 3].long() - 1).clamp_min(0)  # (B, H, W)
        corners = vertices[mesh.faces.to(self.device)]  # (F, 3, 3)
        face_normals = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0], dim=-1)
        face_normals = face_normals / face_normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        normals_cam = face_normals[None] @ T[:, :3, :3].transpose(1, 2)  # (B, F, 3)
        normals = torch.gather(normals_cam, 1, face.view(B, -1, 1).expand(-1, -1, 3)).view(B, height, width, 3)
        normals = normals * mask[..., None]
        if mesh.uv is not None and mesh.texture is not None:
            uv = mesh.uv.to(T)
            uv_rows = torch.stack([uv[:, 0], 1.0 - uv[:, 1]], dim=-1)  # OBJ v points up; texture rows go down
            uv_pix, _ = dr.interpolate(uv_rows[None].contiguous(), rast, faces)
            albedo = dr.texture(mesh.texture.to(T)[None].contiguous(), uv_pix.contiguous(), filter_mode="linear",
                                boundary_mode="clamp")
        else:
            albedo, _ = dr.interpolate(mesh.vertex_colors.to(T)[None].contiguous(), rast, faces)
        rgb = self.shading(albedo.reshape(-1, 3), normals.reshape(-1, 3), xyz.reshape(-1, 3)).view(B, height, width, 3)
        return RenderOutput(rgb=rgb * mask[..., None], depth=xyz[..., 2], mask=mask, xyz=xyz, normals=normals)
