"""Compose full frames: a textured background plane, distractors, an occluder and the object, by depth.

Each mesh is rendered separately by the project's renderer (a batch of frames at once) and the
layers are z-composited per pixel (vectorised argmin over layers), so the object's true visible
mask includes occlusion.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.mesh_simplification import is_closed_and_oriented, simplify_for_rendering
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.rendering.base import MeshTensors, Renderer
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer


@dataclass(frozen=True)
class Layers:
    """A batch of N frames as depth-ordered layers.

    Attributes:
        rgb: (N, H, W, 3) float32 in [0, 1].
        depth: (N, H, W) float32 metres, 0 = nothing.
    """

    rgb: np.ndarray
    depth: np.ndarray


def background_plane(camera: CameraIntrinsics, image: np.ndarray, distance_m: float, tilt: tuple[float, float]
                     ) -> Layers:
    """A textured plane ``n . X = distance_m`` with normal ~(tilt_x, tilt_y, 1), seen by ``camera``; one frame."""
    v, u = np.mgrid[0:camera.height, 0:camera.width].astype(np.float64)
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones_like(u)], axis=-1)
    n = np.array([tilt[0], tilt[1], 1.0])
    n /= np.linalg.norm(n)
    depth = distance_m / (rays @ n)  # z of the ray's hit: rays have unit z
    return Layers(rgb=image[None].astype(np.float32), depth=depth[None].astype(np.float32))


def render_layers(renderer: Renderer, model: ObjectModel, T_cam_obj: np.ndarray, camera: CameraIntrinsics,
                  batch: int = 16, max_faces: int = 20_000) -> Layers:
    """Render (N, 4, 4) poses of the centred object frame at full frame size, ``batch`` frames per call."""
    render_model = simplify_for_rendering(model, max_faces)
    mesh = MeshTensors.from_object_model(render_model)
    rast = renderer
    if isinstance(renderer, TorchRasterizer) and is_closed_and_oriented(render_model):
        rast = dataclasses.replace(renderer, cull_backfaces=True)
    K = camera.matrix_tensor()
    rgbs, depths = [], []
    with torch.inference_mode():
        for start in range(0, len(T_cam_obj), batch):
            T = torch.as_tensor(T_cam_obj[start:start + batch], dtype=torch.float32)
            out = rast.render(mesh, T, K, camera.height, camera.width)
            rgbs.append(out.rgb.numpy())
            depths.append(out.depth.numpy())
    return Layers(rgb=np.concatenate(rgbs), depth=np.concatenate(depths))


def composite(layers: list[Layers]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-composite layers (each with N frames, or 1 frame broadcast over N).

    Returns:
        rgb (N, H, W, 3) float32, depth (N, H, W) float32 metres (0 = nothing), and
        front (N, H, W) int64: index of the layer seen at each pixel (-1 = nothing).
    """
    n = max(len(layer.depth) for layer in layers)
    depth = np.stack([np.broadcast_to(np.where(layer.depth > 0, layer.depth, np.inf), (n, *layer.depth.shape[1:]))
                      for layer in layers])  # (L, N, H, W)
    front = np.argmin(depth, axis=0)
    nearest = np.take_along_axis(depth, front[None], axis=0)[0]
    hit = np.isfinite(nearest)
    rgb = np.zeros((*front.shape, 3), np.float32)
    for i, layer in enumerate(layers):
        sel = (front == i) & hit
        rgb[sel] = np.broadcast_to(layer.rgb, (n, *layer.rgb.shape[1:]))[sel]
    return rgb, np.where(hit, nearest, 0.0).astype(np.float32), np.where(hit, front, -1)
