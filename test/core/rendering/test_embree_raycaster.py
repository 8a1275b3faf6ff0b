"""EmbreeRaycaster: the same images as the torch rasteriser by an independent visibility method."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

pytest.importorskip("embreex", reason="embreex has x86-64 wheels only")
sys.path.insert(0, str(Path(__file__).parent))
from test_torch_rasterizer import MESH, MODEL, H, K, W, random_poses  # noqa: E402

from fpose_ros.core.object_model import object_model_from_trimesh  # noqa: E402
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics  # noqa: E402
from fpose_ros.core.rendering.base import MeshTensors  # noqa: E402
from fpose_ros.core.rendering.embree_raycaster import EmbreeRaycaster  # noqa: E402
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer  # noqa: E402
from fpose_ros.core.transforms import make_transform  # noqa: E402

K_SMALL = K * torch.tensor([[0.25], [0.25], [1.0]])  # the same camera at 160 x 120


def textured_mesh() -> MeshTensors:
    box = trimesh.creation.box(extents=(0.08, 0.05, 0.03))
    model = object_model_from_trimesh(box)
    rng = np.random.default_rng(1)
    texture = rng.random((16, 16, 3)).astype(np.float32)
    uv = rng.random((len(model.vertices), 2)).astype(np.float32)
    return MeshTensors(torch.as_tensor(model.vertices), torch.as_tensor(model.faces),
                       torch.as_tensor(model.vertex_colors), uv=torch.as_tensor(uv), texture=torch.as_tensor(texture))


@pytest.mark.parametrize("mesh", [MESH, textured_mesh()], ids=["vertex-colours", "textured"])
def test_crops_agree_with_the_rasteriser(mesh):
    T = random_poses(6, seed=2)
    Kc = crop_intrinsics(K, crop_affine(T, K, MODEL.diameter, 1.2, 64))
    ours = EmbreeRaycaster().render(mesh, T, Kc, 64, 64)
    ref = TorchRasterizer().render(mesh, T, Kc, 64, 64)
    both = ours.mask & ref.mask
    assert both.sum() > 6 * 300
    assert (ours.mask ^ ref.mask).sum() <= 0.005 * both.sum()
    assert (ours.depth[both] - ref.depth[both]).abs().max() < 1e-5
    assert (ours.xyz[both] - ref.xyz[both]).abs().max() < 1e-5
    assert (ours.normals[both] - ref.normals[both]).abs().max() < 1e-5
    assert (ours.rgb[both] - ref.rgb[both]).abs().max() < 1e-3


def test_threaded_query_equals_single_thread():
    T = random_poses(3, seed=4)  # 3 x 480 x 640 rays: split over threads
    single = EmbreeRaycaster(threads=1).render(MESH, T, K, H, W)
    split = EmbreeRaycaster(threads=3).render(MESH, T, K, H, W)
    assert torch.equal(single.mask, split.mask)
    assert torch.equal(single.depth, split.depth)
    assert torch.equal(single.rgb, split.rgb)


def test_background_is_zero_and_nothing_behind_the_camera_is_drawn():
    T = make_transform(torch.eye(3)[None].repeat(2, 1, 1), torch.tensor([[0.0, 0.0, -0.5], [0.0, 0.0, 0.5]]))
    out = EmbreeRaycaster().render(MESH, T, K_SMALL, 120, 160)
    assert not out.mask[0].any() and out.mask[1].any()
    bg = ~out.mask
    assert (out.depth[bg] == 0).all() and (out.rgb[bg] == 0).all() and (out.normals[bg] == 0).all()


def test_each_mesh_gets_its_own_scene():
    renderer = EmbreeRaycaster()
    T = make_transform(torch.eye(3)[None], torch.tensor([[0.0, 0.0, 0.5]]))
    small = object_model_from_trimesh(trimesh.creation.box(extents=(0.02, 0.02, 0.02)))
    a = renderer.render(MESH, T, K_SMALL, 120, 160)
    b = renderer.render(MeshTensors.from_object_model(small), T, K_SMALL, 120, 160)
    c = renderer.render(MESH, T, K_SMALL, 120, 160)
    assert 0 < b.mask.sum() < a.mask.sum()
    assert torch.equal(a.depth, c.depth)
