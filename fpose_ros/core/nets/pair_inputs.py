"""Rendering/observation input pairs for the learned networks, built on pose-conditioned crops.

For each pose, the window of :func:`~fpose_ros.core.pose_conditioned_crop.crop_affine` is drawn directly at
the crop size (camera ``M @ K``), so no full-resolution rendering is ever made, and the observation is
warped into the same window (RGB bilinear, xyz nearest). Both become the networks' 6-channel input with
:func:`~fpose_ros.core.nets.pose_update.make_network_input`.
"""

from __future__ import annotations

import torch

from fpose_ros.core.nets.pose_update import make_network_input
from fpose_ros.core.observation import Observation
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics, warp_to_crop
from fpose_ros.core.rendering.base import MeshTensors, Renderer


def make_pairs(
    renderer: Renderer,
    mesh: MeshTensors,
    observation: Observation,
    T_cam_centered: torch.Tensor,
    diameter: float,
    crop_ratio: float,
    min_z: float,
    size: int = 160,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs A (rendering) and B (observed crop) for B poses.

    Args:
        renderer: draws the crops.
        mesh: the object (centred frame) on the observation's device.
        observation: the preprocessed frame.
        T_cam_centered: (N, 4, 4) float32 poses of the centred object frame, camera frame.
        diameter: object diameter, metres.
        crop_ratio: window radius / object radius (refiner 1.2, scorer 1.1).
        min_z: xyz pixels with camera z below this (metres) are empty.
        size: crop side, pixels.

    Returns:
        A, B: (N, 6, size, size) float32 NCHW inputs on the observation's device. O(N * size^2) plus the
        renderer's cost for N crops.
    """
    T = T_cam_centered.to(torch.float32)
    M = crop_affine(T, observation.K, diameter, crop_ratio, size)
    rendered = renderer.render(mesh, T, crop_intrinsics(observation.K, M), size, size)
    t = T[:, :3, 3]
    A = make_network_input(rendered.rgb, rendered.xyz, t, diameter, min_z)
    rgb = warp_to_crop(observation.rgb, M, size, mode="bilinear")
    xyz = warp_to_crop(observation.xyz, M, size, mode="nearest")
    B = make_network_input(rgb, xyz, t, diameter, min_z)
    return A, B
