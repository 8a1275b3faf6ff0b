"""An object drawn by the engine's own renderer in front of a wall, as an RGB-D frame (shared by engine tests)."""

import numpy as np
import torch

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.estimator import PoseEstimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.rendering.base import MeshTensors


def frame_at(estimator: PoseEstimator, T: np.ndarray, camera: CameraIntrinsics, wall_m: float = 0.8) -> RGBDFrame:
    """``estimator``'s object drawn at ``T`` (centred frame) in front of a grey wall ``wall_m`` metres away."""
    with torch.inference_mode():
        out = estimator.renderer.render(MeshTensors.from_object_model(estimator.render_model, estimator.device),
                                        torch.as_tensor(T, dtype=torch.float32)[None],
                                        camera.matrix_tensor(estimator.device), camera.height, camera.width)
    mask = out.mask[0].numpy()
    depth = np.where(mask, out.depth[0].numpy(), wall_m).astype(np.float32)
    rgb = np.where(mask[..., None], out.rgb[0].numpy() * 255, 90).astype(np.uint8)
    return RGBDFrame(rgb, depth, camera)
