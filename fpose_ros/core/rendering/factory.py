"""Pick a renderer backend by name."""

from __future__ import annotations

import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.base import Renderer

#: Backends :func:`create_renderer` knows.
BACKENDS = ("auto", "torch", "embree", "nvdiffrast")


def create_renderer(backend: str = "auto", device: torch.device | str = "cpu") -> Renderer:
    """A renderer for ``device``.

    Args:
        backend: "auto" (default: "embree" on the CPU when embreex is installed, else "torch"),
            "torch" (pure torch, CPU or CUDA), "embree" (CPU ray caster, 4-6x faster there; needs
            embreex), "nvdiffrast" (CUDA only; needs the user-installed nvdiffrast, non-commercial licence).
        device: where the meshes and poses live.

    Raises:
        ConfigError: unknown backend, or a backend that cannot run on ``device`` or is not installed.
    """
    dev = torch.device(device)
    if backend == "auto":
        from fpose_ros.core.rendering.embree_raycaster import embree_available

        backend = "embree" if dev.type == "cpu" and embree_available() else "torch"
    if backend == "torch":
        from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer

        return TorchRasterizer()
    if backend == "embree":
        if dev.type != "cpu":
            raise ConfigError(f"the 'embree' renderer runs on the CPU only, not on {dev}")
        from fpose_ros.core.rendering.embree_raycaster import EmbreeRaycaster

        return EmbreeRaycaster()
    if backend == "nvdiffrast":
        if dev.type != "cuda":
            raise ConfigError(f"the 'nvdiffrast' renderer needs a CUDA device, not {dev}")
        from fpose_ros.core.rendering.nvdiffrast_backend import NvdiffrastRenderer

        return NvdiffrastRenderer(device=dev)
    raise ConfigError(f"unknown renderer backend {backend!r}; choose one of {', '.join(BACKENDS)}")
