"""NvdiffrastRenderer: projection maths everywhere; agreement with the torch rasteriser where nvdiffrast runs."""

from __future__ import annotations

import pytest
import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.nvdiffrast_backend import NvdiffrastRenderer, projection_clip


def test_projection_maps_pixel_centres_to_ndc_cells() -> None:
    K = torch.tensor([[[200.0, 0.0, 31.5], [0.0, 180.0, 23.5], [0.0, 0.0, 1.0]]])
    points = torch.tensor([[[0.05, -0.02, 0.7], [0.0, 0.0, 1.3]]])
    clip = projection_clip(points, K, 48, 64)
    ndc = clip[..., :2] / clip[..., 3:]
    u = 200.0 * points[..., 0] / points[..., 2] + 31.5
    v = 180.0 * points[..., 1] / points[..., 2] + 23.5
    torch.testing.assert_close(ndc[..., 0], (2 * u + 1) / 64 - 1)
    torch.testing.assert_close(ndc[..., 1], (2 * v + 1) / 48 - 1)
    z_ndc = clip[..., 2] / clip[..., 3]
    assert ((z_ndc > -1) & (z_ndc < 1)).all() and z_ndc[0, 0] < z_ndc[0, 1]  # nearer is smaller


def test_refuses_cpu() -> None:
    with pytest.raises(ConfigError, match="CUDA"):
        NvdiffrastRenderer("cpu")


def test_matches_torch_rasterizer() -> None:
    pytest.importorskip("nvdiffrast.torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from fpose_ros.core.rendering.base import MeshTensors
    from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
    from fpose_ros.core.synthetic.assets import procedural_object
    from fpose_ros.core.transforms import make_transform, so3_exp

    mesh = MeshTensors.from_object_model(procedural_object(3), "cuda")
    T = make_transform(so3_exp(torch.tensor([[0.3, -0.5, 0.2]])), torch.tensor([[0.02, -0.01, 0.6]])).cuda()
    K = torch.tensor([[150.0, 0.0, 79.5], [0.0, 150.0, 59.5], [0.0, 0.0, 1.0]]).cuda()
    ours = NvdiffrastRenderer("cuda").render(mesh, T, K, 120, 160)
    ref = TorchRasterizer().render(mesh, T, K, 120, 160)
    assert (ours.mask != ref.mask).float().mean() < 0.01
    both = ours.mask & ref.mask
    assert (ours.depth[both] - ref.depth[both]).abs().median() < 1e-4
