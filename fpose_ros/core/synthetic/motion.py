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
        steady: the object flies through the view instead of shaking in place: a straight line at
            ``linear_mps`` (centred on the start position) while spinning at ``angular_dps`` about a
            fixed axis, from the first frame on, so it also moves while it is being registered.
    """

    name: str
    linear_mps: float
    angular_dps: float
    frequency_scale: float = 1.0
    steady: bool = False


PRESETS = {p.name: p for p in (
    MotionPreset("static", 0.0, 0.0),
    MotionPreset("slow", 0.05, 15.0),
    MotionPreset("handheld", 0.25, 60.0),
    MotionPreset("fast", 1.0, 180.0, frequency_scale=4.0),
    # A robot's view: an object carried across the scene (0.3 m in 3 s at 0.6 m stays in a D435's view).
    MotionPreset("fly45", 0.1, 45.0, steady=True),
    MotionPreset("fly90", 0.1, 90.0, steady=True),
    MotionPreset("fly180", 0.1, 180.0, steady=True),
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
        start: (4, 4) pose at time 0 (T_cam_centered).
        rng: phases and directions.

    Returns:
        (n_frames, 4, 4) float64 poses; the speed between consecutive frames never exceeds the preset's.
    """
    t = np.arange(n_frames) / fps
    if preset.steady:
        return _fly_through(preset, t, start, rng)
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


def _fly_through(preset: MotionPreset, t: np.ndarray, start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 4, 4) poses: constant linear and angular velocity, the path's midpoint at ``start``'s position.

    The direction of travel is random in the image plane (x, y) with a small depth component; the spin
    axis is random. Speeds are exactly the preset's on every frame.
    """
    heading = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(heading), np.sin(heading), rng.uniform(-0.3, 0.3)])
    direction /= np.linalg.norm(direction)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    elapsed = t - t[-1] / 2.0  # centred on the start position, so the object crosses the view's middle
    poses = np.repeat(start[None].astype(np.float64), len(t), axis=0)
    spin = Rotation.from_rotvec(np.outer(t * np.radians(preset.angular_dps), axis)).as_matrix()
    poses[:, :3, :3] = spin @ start[:3, :3]
    poses[:, :3, 3] = start[:3, 3] + np.outer(elapsed * preset.linear_mps, direction)
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
