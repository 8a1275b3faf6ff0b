"""Rigid transforms as batched torch tensors: (..., 4, 4) homogeneous, (..., 3, 3) rotations."""

from __future__ import annotations

import torch


def transform_points(T: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply (..., 4, 4) transforms to (..., N, 3) points; returns (..., N, 3)."""
    return rotate_vectors(T[..., :3, :3], points) + T[..., None, :3, 3]


def rotate_vectors(R: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``R @ v`` for (..., 3, 3) rotations and (..., N, 3) vectors; returns (..., N, 3).

    Three broadcast multiply-adds: on a CPU several times faster than a batched matmul whose inner
    dimension is 3. O(N) per rotation.
    """
    return v[..., 0:1] * R[..., None, :, 0] + v[..., 1:2] * R[..., None, :, 1] + v[..., 2:3] * R[..., None, :, 2]


def invert_transform(T: torch.Tensor) -> torch.Tensor:
    """Inverse of (..., 4, 4) rigid transforms, using R^T (exact for rotations)."""
    R_inv = T[..., :3, :3].transpose(-1, -2)
    out = torch.zeros_like(T)
    out[..., :3, :3] = R_inv
    out[..., :3, 3] = -(R_inv @ T[..., :3, 3:4])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def skew(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) vectors -> (..., 3, 3) cross-product matrices [v]_x."""
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v.unbind(-1)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def so3_exp(omega: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: (..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices."""
    theta = omega.norm(dim=-1, keepdim=True)[..., None]  # (..., 1, 1)
    K = skew(omega)
    small = theta < 1e-6
    theta_safe = torch.where(small, torch.ones_like(theta), theta)
    a = torch.where(small, 1.0 - theta**2 / 6.0, torch.sin(theta_safe) / theta_safe)
    b = torch.where(small, 0.5 - theta**2 / 24.0, (1.0 - torch.cos(theta_safe)) / theta_safe**2)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand(K.shape)
    return eye + a * K + b * (K @ K)


def rotation_angle(R: torch.Tensor) -> torch.Tensor:
    """Geodesic angle in radians of (..., 3, 3) rotations; returns (...)."""
    cos = (R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) * 0.5
    return torch.arccos(cos.clamp(-1.0, 1.0))


def make_transform(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations and (..., 3) translations -> (..., 4, 4) transforms."""
    T = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1.0
    return T
