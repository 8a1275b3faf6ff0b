"""Network inputs and output decoding of FoundationPose's refiner, as pure batched torch.

Frames: every pose is ``T_cam_centered`` of the centred object frame, camera frame OpenCV optical; metres, radians.

Decoding one refiner step (FoundationPose's rule): ``dt = trans_out * diameter / 2``;
``dR = Rodrigues(tanh(rot_out) * rot_normalizer)^T``; ``t_new = t + dt``; ``R_new = dR @ R`` — a rotation
about the object's own origin expressed in camera axes, then a camera-frame translation.

On ``trans_normalizer`` ([0.02, 0.02, 0.05] in the released config): the reference's decoding rule for the
released configuration (``normalize_xyz: true``, ``trans_rep: tracknet``) scales the translation output by the
object radius only. We read ``trans_normalizer`` as a training-time setting of that representation, not a
factor of inference: it is validated in ``config.yml`` but never multiplies the output here. The checkpoint
loader refuses ``normalize_xyz: false``, the one setting for which this reading would not hold.
"""

from __future__ import annotations

import torch

from fpose_ros.core.transforms import make_transform, so3_exp

#: Camera-frame depth (metres) below which an xyz pixel counts as empty in the refiner's inputs.
REFINER_MIN_Z_M = 0.001
#: The same for the scorer's inputs (FoundationPose's scorer uses a larger threshold).
SCORER_MIN_Z_M = 0.1
#: Normalised xyz components at or beyond this (in object radii from the hypothesis) are zeroed.
MAX_NORMALIZED_XYZ = 2.0


def make_network_input(
    rgb: torch.Tensor, xyz: torch.Tensor, t: torch.Tensor, diameter: float, min_z: float
) -> torch.Tensor:
    """Stack colour and hypothesis-centred, radius-normalised xyz into the networks' 6-channel NCHW input.

    Args:
        rgb: (N, H, W, 3) float in [0, 1] (no mean/std normalisation).
        xyz: (N, H, W, 3) float camera-frame points, metres; 0 where there is no point.
        t: (N, 3) float hypothesis translations (``T_cam_centered[:, :3, 3]``), camera frame, metres.
        diameter: object diameter, metres.
        min_z: pixels whose camera-frame z is below this (metres) are empty: :data:`REFINER_MIN_Z_M` or
            :data:`SCORER_MIN_Z_M`.

    Returns:
        (N, 6, H, W) float32: RGB, then ``(xyz - t) / (diameter / 2)``; the three xyz channels are 0 at empty
        pixels and wherever any normalised component reaches :data:`MAX_NORMALIZED_XYZ`. O(N * H * W).
    """
    normalized = (xyz - t[:, None, None, :].to(xyz.dtype)) * (2.0 / diameter)
    invalid = (xyz[..., 2] < min_z) | (normalized.abs() >= MAX_NORMALIZED_XYZ).any(dim=-1)
    normalized = normalized.masked_fill(invalid[..., None], 0.0)
    return torch.cat([rgb, normalized], dim=-1).to(torch.float32).permute(0, 3, 1, 2).contiguous()


def decode_refiner_output(
    trans_out: torch.Tensor, rot_out: torch.Tensor, diameter: float, rot_normalizer: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn :class:`RefineNet` outputs into a camera-frame translation step and rotation step.

    Args:
        trans_out: (N, 3) translation output, in object radii.
        rot_out: (N, 3) raw rotation output.
        diameter: object diameter, metres.
        rot_normalizer: largest rotation per axis, radians (0.349 = 20 deg in the released config).

    Returns:
        dt (N, 3) metres and dR (N, 3, 3) rotation matrices, float32 or float64 as the inputs (fp16 and
        bf16 network outputs are promoted to float32 first, so the trigonometry keeps its precision).
    """
    dtype = torch.promote_types(trans_out.dtype, torch.float32)
    dt = trans_out.to(dtype) * (0.5 * diameter)
    dR = so3_exp(torch.tanh(rot_out.to(dtype)) * rot_normalizer).transpose(-1, -2)
    return dt, dR


def apply_pose_update(T_cam_centered: torch.Tensor, dt: torch.Tensor, dR: torch.Tensor) -> torch.Tensor:
    """``t_new = t + dt``, ``R_new = dR @ R`` for (N, 4, 4) poses, (N, 3) steps, (N, 3, 3) rotations.

    Returns (N, 4, 4) poses in the dtype of ``T_cam_centered``.
    """
    R = T_cam_centered[:, :3, :3]
    t = T_cam_centered[:, :3, 3]
    return make_transform(dR.to(R.dtype) @ R, t + dt.to(t.dtype))
