"""Refiner decoding and network inputs against a float64 NumPy reference of the documented formulas."""

from __future__ import annotations

import numpy as np
import torch

from fpose_ros.core.nets.pose_update import (
    REFINER_MIN_Z_M,
    apply_pose_update,
    decode_refiner_output,
    make_network_input,
)

ROT_NORMALIZER = np.deg2rad(20.0)


def _rodrigues(w: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(w)
    k = w / theta
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * Kx + (1 - np.cos(theta)) * Kx @ Kx


def _reference_step(T: np.ndarray, trans: np.ndarray, rot: np.ndarray, diameter: float) -> np.ndarray:
    out = T.copy()
    dR = _rodrigues(np.tanh(rot) * ROT_NORMALIZER).T
    out[:3, :3] = dR @ T[:3, :3]
    out[:3, 3] = T[:3, 3] + trans * diameter / 2
    return out


def test_decode_and_update_match_reference() -> None:
    rng = np.random.default_rng(0)
    n, diameter = 16, 0.17
    trans, rot = rng.normal(size=(n, 3)), rng.normal(scale=2.0, size=(n, 3))
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, :3] = [_rodrigues(w) for w in rng.normal(size=(n, 3))]
    T[:, :3, 3] = rng.uniform(-0.2, 0.2, size=(n, 3)) + [0, 0, 0.8]
    dt, dR = decode_refiner_output(torch.from_numpy(trans), torch.from_numpy(rot), diameter, ROT_NORMALIZER)
    got = apply_pose_update(torch.from_numpy(T), dt, dR).numpy()
    expected = np.stack([_reference_step(T[i], trans[i], rot[i], diameter) for i in range(n)])
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    # float32 network outputs on float32 poses stay close too.
    dt32, dR32 = decode_refiner_output(torch.from_numpy(trans).float(), torch.from_numpy(rot).float(), diameter,
                                       ROT_NORMALIZER)
    got32 = apply_pose_update(torch.from_numpy(T).float(), dt32, dR32).numpy()
    np.testing.assert_allclose(got32, expected, atol=1e-5, rtol=0)


def test_network_input_matches_reference() -> None:
    rng = np.random.default_rng(1)
    n, h, w, diameter = 2, 8, 9, 0.2
    rgb = rng.uniform(size=(n, h, w, 3))
    t = rng.uniform(-0.1, 0.1, size=(n, 3)) + [0, 0, 0.7]
    xyz = t[:, None, None, :] + rng.uniform(-0.25, 0.25, size=(n, h, w, 3))
    xyz[0, 0, 0] = 0.0  # empty pixel
    xyz[1, 1, 1, 2] = REFINER_MIN_Z_M / 2  # too close
    got = make_network_input(*(torch.from_numpy(a) for a in (rgb, xyz, t)), diameter, REFINER_MIN_Z_M).numpy()
    norm = (xyz - t[:, None, None, :]) / (diameter / 2)
    bad = (xyz[..., 2] < REFINER_MIN_Z_M) | (np.abs(norm) >= 2).any(-1)
    norm[bad] = 0
    expected = np.concatenate([rgb, norm], axis=-1).transpose(0, 3, 1, 2)
    assert got.dtype == np.float32 and got.shape == (n, 6, h, w)
    assert bad.sum() > 2  # the cut-offs are exercised
    np.testing.assert_allclose(got, expected, atol=1e-6)
