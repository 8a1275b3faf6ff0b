"""Scene composition: nearest layer wins per pixel; crops render exactly like full frames."""

import numpy as np
import torch

from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.synthetic.assets import load_asset
from fpose_ros.core.synthetic.scene import Layers, background_plane, composite, render_layers
from fpose_ros.core.synthetic.sequences import d435_camera


def test_composite_takes_the_nearest_layer_and_broadcasts_static_ones():
    back = Layers(rgb=np.full((1, 4, 5, 3), 0.2, np.float32), depth=np.full((1, 4, 5), 2.0, np.float32))
    depth = np.zeros((3, 4, 5), np.float32)
    depth[:, 1:3, 1:3] = [[[1.0]], [[3.0]], [[1.5]]]
    front_layer = Layers(rgb=np.full((3, 4, 5, 3), 0.9, np.float32), depth=depth)
    rgb, out_depth, front = composite([back, front_layer])
    assert rgb.shape == (3, 4, 5, 3)
    assert (front[0, 1:3, 1:3] == 1).all() and (front[1, 1:3, 1:3] == 0).all()  # behind the wall in frame 1
    assert np.allclose(out_depth[1], 2.0) and np.allclose(out_depth[2, 1:3, 1:3], 1.5)
    assert np.allclose(rgb[0, 1, 1], 0.9) and np.allclose(rgb[1, 1, 1], 0.2)


def test_background_plane_depth_follows_its_tilt():
    camera = d435_camera(64, 48)
    flat = background_plane(camera, np.zeros((48, 64, 3)), 1.0, (0.0, 0.0))
    assert np.allclose(flat.depth, 1.0)
    tilted = background_plane(camera, np.zeros((48, 64, 3)), 1.0, (0.3, 0.0)).depth[0]
    assert tilted[:, 0].mean() > tilted[:, -1].mean()  # the plane recedes on the left


def test_cropped_render_equals_full_frame_render():
    camera = d435_camera(160, 120)
    model = load_asset("proc:1")
    T = np.repeat(np.eye(4)[None], 3, axis=0)
    T[:, :3, 3] = [[0.0, 0.0, 0.7], [0.12, -0.05, 0.8], [5.0, 0.0, 0.7]]  # the last one is out of view
    layers = render_layers(TorchRasterizer(), model, T, camera)
    full = TorchRasterizer().render(MeshTensors.from_object_model(model), torch.as_tensor(T, dtype=torch.float32),
                                    camera.matrix_tensor(), camera.height, camera.width)
    assert (layers.depth[:2] > 0).sum() > 200 and not layers.depth[2].any()
    assert np.array_equal(layers.depth[:2] > 0, full.depth[:2].numpy() > 0)
    assert np.allclose(layers.depth[:2], full.depth[:2].numpy(), atol=1e-5)
