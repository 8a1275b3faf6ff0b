"""Smooth object trajectories in front of the camera, with speed limits per preset.

Position and rotation vector are sums of sinusoids with random phases; amplitudes are scaled so
that the peak linear and angular speeds equal the preset's, which makes speed limits exact bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class MotionPreset:
    """Peak speeds of a trajectory.

    Attributes:
        name: preset name.
        linear_mps: peak speed of the object origin, metres per second.
        angular_dps: peak angular speed, degrees per second.
        frequency_scale: multiplies the sinusoids' frequencies; fast motions are shakes, not sweeps,
            so that they stay in view (amplitude = speed / frequency).
    """

    name: str
    linear_mps: float
    angular_dps: float
    frequency_scale: float = 1.0


PRESETS = {p.name: p for p in (
    MotionPreset("static", 0.0, 0.0),
    MotionPreset("slow", 0.05, 15.0),
    MotionPreset("handheld", 0.25, 60.0),
    MotionPreset("fast", 1.0, 180.0, frequency_scale=4.0),
)}

# Angular frequencies of the sinusoids, rad/s: a few seconds per sweep, as a hand moves.
_FREQS = np.array([1.3, 2.1, 3.4])


def trajectory(preset: MotionPreset, n_frames: int, fps: float, start: np.ndarray, rng: np.random.Generator
               ) -> np.ndarray:
    """Poses of the object frame in the camera frame over time.

    Args:
        preset: peak speeds.
        n_frames: number of poses.
        fps: frame rate, Hz.
        start: (4, 4) pose at time 0 (T_cam_obj).
        rng: phases and directions.

    Returns:
        (n_frames, 4, 4) float64 poses; the speed between consecutive frames never exceeds the preset's.
    """
    t = np.arange(n_frames) / fps
    freqs = _FREQS * preset.frequency_scale
    phases = rng.uniform(0, 2 * np.pi, (2, 3, len(freqs)))
    weights = rng.normal(size=(2, 3, len(freqs)))
    # x(t) = sum_k w_k (sin(f_k t + p_k) - sin(p_k)); |x'(t)| <= sum_k |w_k| f_k per axis, bounded in norm below.
    waves = np.sin(freqs * t[:, None, None] + phases[:, None]) - np.sin(phases[:, None])  # (2, T, 3, K)
    peak = np.sqrt(((np.abs(weights) * freqs).sum(-1) ** 2).sum(-1))  # (2,) bound of the speed norms
    lin = (waves[0] * weights[0]).sum(-1) * (preset.linear_mps / max(peak[0], 1e-9))
    rot = (waves[1] * weights[1]).sum(-1) * (np.radians(preset.angular_dps) / max(peak[1], 1e-9))
    poses = np.repeat(start[None].astype(np.float64), n_frames, axis=0)
    poses[:, :3, :3] = Rotation.from_rotvec(rot).as_matrix() @ start[:3, :3]
    poses[:, :3, 3] = start[:3, 3] + lin
    return poses


def exit_and_return(poses: np.ndarray, fps: float, leave_at: int, away_s: float = 1.0, shift_m: float = 0.8
                    ) -> np.ndarray:
    """The trajectory with the object pushed sideways out of view for ``away_s`` seconds from frame ``leave_at``.

    It slides out over 4 frames and back over 4 frames (a fast hand-held swing).
    """
    n = len(poses)
    away = int(round(away_s * fps))
    offset = np.zeros(n)
    ramp = np.linspace(0, 1, 5)[1:]
    for i, frame in enumerate(range(leave_at, min(n, leave_at + 4))):
        offset[frame] = ramp[i]
    offset[leave_at + 4:leave_at + 4 + away] = 1.0
    back = leave_at + 4 + away
    for i, frame in enumerate(range(back, min(n, back + 4))):
        offset[frame] = ramp[::-1][i] - 0.25
    out = poses.copy()
    out[:, 0, 3] += shift_m * offset
    return out
