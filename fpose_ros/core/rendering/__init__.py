"""Renderers: draw a batch of poses of one mesh through per-item pinhole cameras.

A renderer satisfies :class:`Renderer`; :func:`create_renderer` picks one by name. The optional backends'
own dependencies (embreex, nvdiffrast) are imported only when such a renderer is built.
"""

from fpose_ros.core.rendering.base import RASTER_FACE_BUDGET, RAY_CAST_FACE_BUDGET, MeshTensors, Renderer, RenderOutput
from fpose_ros.core.rendering.embree_raycaster import EmbreeRaycaster, embree_available
from fpose_ros.core.rendering.factory import create_renderer
from fpose_ros.core.rendering.nvdiffrast_backend import NvdiffrastRenderer
from fpose_ros.core.rendering.shading import HeadlightShading
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.rendering.visible_surface import VisibleSurface, render_visible_surface

__all__ = [
    "RASTER_FACE_BUDGET",
    "RAY_CAST_FACE_BUDGET",
    "EmbreeRaycaster",
    "HeadlightShading",
    "MeshTensors",
    "NvdiffrastRenderer",
    "RenderOutput",
    "Renderer",
    "TorchRasterizer",
    "VisibleSurface",
    "create_renderer",
    "embree_available",
    "render_visible_surface",
]
