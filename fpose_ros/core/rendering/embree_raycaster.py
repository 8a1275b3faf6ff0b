"""A second, independent renderer: one ray per pixel through Intel Embree (trimesh + embreex), CPU only.

It shares no code with the rasteriser, so it serves as ground truth for depth tests and as the
measured alternative in ``scripts/bench_renderers.py``. Cost: O(H * W * log F) per image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import trimesh

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.base import MeshTensors, RenderOutput
from fpose_ros.core.rendering.shading import HeadlightShading


@dataclass
class EmbreeRaycaster:
    """Implements :class:`~fpose_ros.core.rendering.base.Renderer` by ray casting; vertex colours only."""

    shading: HeadlightShading = field(default_factory=HeadlightShading)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        try:
            from trimesh.ray.ray_pyembree import RayMeshIntersector  # noqa: F401 - availability check
        except ImportError as exc:
            raise ConfigError("the 'embree' renderer needs the embreex package (pip install embreex)") from exc

    def render(self, mesh: MeshTensors, T_cam_obj: torch.Tensor, K: torch.Tensor, height: int, width: int
               ) -> RenderOutput:
        """Render B poses; same contract as :meth:`TorchRasterizer.render` (tensors on the mesh's device)."""
        from trimesh.ray.ray_pyembree import RayMeshIntersector

        vertices = mesh.vertices.detach().cpu().double().numpy()
        faces = mesh.faces.detach().cpu().numpy()
        key = (id(mesh), vertices.shape, faces.shape)
        if key not in self._cache:
            tm = trimesh.Trimesh(vertices, faces, process=False)
            self._cache = {key: (tm, RayMeshIntersector(tm))}
        tm, intersector = self._cache[key]
        colours = mesh.vertex_colors.detach().cpu().double().numpy()

        T_all = T_cam_obj.detach().cpu().double().numpy()
        K_all = np.broadcast_to(K.detach().cpu().double().numpy(), (len(T_all), 3, 3))
        B = len(T_all)
        rgb = np.zeros((B, height, width, 3))
        depth = np.zeros((B, height, width))
        xyz = np.zeros((B, height, width, 3))
        normals = np.zeros((B, height, width, 3))
        v, u = np.mgrid[0:height, 0:width]
        pixels = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=-1)
        for b in range(B):  # one batched ray query per image
            R, t = T_all[b, :3, :3], T_all[b, :3, 3]
            rays_cam = pixels @ np.linalg.inv(K_all[b]).T
            origins = np.broadcast_to(-R.T @ t, rays_cam.shape)
            hits, ray_idx, tri_idx = intersector.intersects_location(origins, rays_cam @ R, multiple_hits=False)
            if len(hits) == 0:
                continue
            points = hits @ R.T + t
            rows, cols = ray_idx // width, ray_idx % width
            bary = trimesh.triangles.points_to_barycentric(tm.triangles[tri_idx], hits)
            albedo = (colours[faces[tri_idx]] * bary[..., None]).sum(1)
            n = tm.face_normals[tri_idx] @ R.T
            depth[b, rows, cols] = points[:, 2]
            xyz[b, rows, cols] = points
            normals[b, rows, cols] = n
            rgb[b, rows, cols] = self.shading(torch.as_tensor(albedo), torch.as_tensor(n),
                                              torch.as_tensor(points)).numpy()
        dev = mesh.device

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=dev)

        return RenderOutput(rgb=t(rgb), depth=t(depth), mask=t(depth) > 0, xyz=t(xyz), normals=t(normals))
