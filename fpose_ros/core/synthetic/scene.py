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
from fpose_ros.core.rendering.rasterize import NEAR_PLANE_M
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


def render_layers(renderer: Renderer, model: ObjectModel, T_cam_centered: np.ndarray, camera: CameraIntrinsics,
                  batch: int = 16, max_faces: int = 20_000) -> Layers:
    """Render (N, 4, 4) poses of the centred object frame into full-size (N, H, W) layers.

    Each frame is rasterised only over the object's projected bounding box (the principal point is shifted
    per frame, so pixels are exactly those of a full-frame render) and ``batch`` frames share one call;
    frames where the object is out of view or behind the camera are not rendered. Cost grows with the
    object's image area, not with H x W.
    """
    render_model = simplify_for_rendering(model, max_faces)
    mesh = MeshTensors.from_object_model(render_model)
    rast = renderer
    if isinstance(renderer, TorchRasterizer) and is_closed_and_oriented(render_model):
        rast = dataclasses.replace(renderer, cull_backfaces=True)
    n, H, W = len(T_cam_centered), camera.height, camera.width
    boxes = _pixel_boxes(render_model.vertices, T_cam_centered, camera)
    rgb = np.zeros((n, H, W, 3), np.float32)
    depth = np.zeros((n, H, W), np.float32)
    seen = np.nonzero(boxes[:, 2] >= boxes[:, 0])[0]
    with torch.inference_mode():
        for chunk in np.array_split(seen, max(1, -(-len(seen) // batch))):
            if len(chunk) == 0:
                continue
            box = boxes[chunk]
            w = int(min(W, (box[:, 2] - box[:, 0]).max() + 1))
            h = int(min(H, (box[:, 3] - box[:, 1]).max() + 1))
            x0 = np.clip(box[:, 0], 0, W - w)
            y0 = np.clip(box[:, 1], 0, H - h)
            K = np.repeat(camera.matrix()[None], len(chunk), axis=0)
            K[:, 0, 2] -= x0
            K[:, 1, 2] -= y0
            out = rast.render(mesh, torch.as_tensor(T_cam_centered[chunk], dtype=torch.float32),
                              torch.as_tensor(K, dtype=torch.float32), h, w)
            crop_rgb, crop_depth = out.rgb.numpy(), out.depth.numpy()
            for j, i in enumerate(chunk):  # paste: one slice per frame
                rgb[i, y0[j]:y0[j] + h, x0[j]:x0[j] + w] = crop_rgb[j]
                depth[i, y0[j]:y0[j] + h, x0[j]:x0[j] + w] = crop_depth[j]
    return Layers(rgb=rgb, depth=depth)


def _pixel_boxes(vertices: np.ndarray, T_cam_centered: np.ndarray, camera: CameraIntrinsics, margin: int = 2
                 ) -> np.ndarray:
    """(N, 4) int64 pixel boxes (x0, y0, x1, y1), inclusive and clipped to the image, of posed (V, 3) vertices.

    Only vertices in front of the camera count (the rasteriser drops triangles that cross the near plane);
    an empty box (x1 < x0) means nothing can be drawn.
    """
    pts = np.einsum("nij,vj->nvi", T_cam_centered[:, :3, :3], vertices) + T_cam_centered[:, None, :3, 3]  # (N, V, 3)
    front = pts[..., 2] > NEAR_PLANE_M
    z = np.where(front, pts[..., 2], 1.0)
    u = np.where(front, camera.fx * pts[..., 0] / z + camera.cx, np.nan)
    v = np.where(front, camera.fy * pts[..., 1] / z + camera.cy, np.nan)
    boxes = np.full((len(T_cam_centered), 4), [0, 0, -1, -1], np.int64)
    any_front = front.any(axis=1)
    with np.errstate(all="ignore"):
        lo_u, hi_u = np.nanmin(u[any_front], axis=1), np.nanmax(u[any_front], axis=1)
        lo_v, hi_v = np.nanmin(v[any_front], axis=1), np.nanmax(v[any_front], axis=1)
    x0 = np.clip(np.floor(lo_u) - margin, 0, camera.width - 1)
    x1 = np.clip(np.ceil(hi_u) + margin, 0, camera.width - 1)
    y0 = np.clip(np.floor(lo_v) - margin, 0, camera.height - 1)
    y1 = np.clip(np.ceil(hi_v) + margin, 0, camera.height - 1)
    inside = (hi_u >= -margin) & (lo_u <= camera.width - 1 + margin) & (hi_v >= -margin) & (
        lo_v <= camera.height - 1 + margin)
    boxes[np.nonzero(any_front)[0][inside]] = np.stack([x0, y0, x1, y1], axis=1)[inside].astype(np.int64)
    return boxes


def composite(layers: list[Layers]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-composite layers (each with N frames, or 1 frame broadcast over N), nearest surface wins.

    Cost: O(L N H W) element-wise passes, one layer at a time (no (L, N, H, W) stack in memory).

    Returns:
        rgb (N, H, W, 3) float32, depth (N, H, W) float32 metres (0 = nothing), and
        front (N, H, W) int64: index of the layer seen at each pixel (-1 = nothing).
    """
    n = max(len(layer.depth) for layer in layers)
    shape = (n, *layers[0].depth.shape[1:])
    nearest = np.full(shape, np.inf, np.float32)
    rgb = np.zeros((*shape, 3), np.float32)
    front = np.full(shape, -1, np.int64)
    for i, layer in enumerate(layers):
        closer = (layer.depth > 0) & (layer.depth < nearest)  # broadcasts a 1-frame layer over N
        np.copyto(nearest, layer.depth, where=closer)
        np.copyto(rgb, layer.rgb, where=closer[..., None])
        front[closer] = i
    return rgb, np.where(front >= 0, nearest, 0.0).astype(np.float32), front
