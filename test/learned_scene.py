"""The small scene the learned refiner and scorer tests share: a 160x120 camera and rendered observations.

Importable from any test: pytest puts ``test/`` on ``sys.path`` for its root ``conftest.py``.
"""

from __future__ import annotations

import torch

from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer

K = torch.tensor([[150.0, 0.0, 79.5], [0.0, 150.0, 59.5], [0.0, 0.0, 1.0]])
HEIGHT, WIDTH = 120, 160


def observe(model: ObjectModel, T: torch.Tensor) -> Observation:
    """The object rendered at (1, 4, 4) ``T`` as an observation with a mask."""
    out = TorchRasterizer().render(MeshTensors.from_object_model(model), T, K, HEIGHT, WIDTH)
    depth = out.depth[0]
    return Observation(rgb=out.rgb[0], depth=depth, mask=out.mask[0], K=K)
