"""Evaluation metrics against hand-computed cases."""

import numpy as np
import pytest

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.metrics import (
    PoseErrors,
    add_error,
    adds_error,
    auc,
    pose_errors,
    rotation_error_deg,
    symmetric_add_error,
    translation_error_m,
)


def _pose(angle_deg: float = 0.0, axis: int = 2, t=(0.0, 0.0, 0.5)) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    T = np.eye(4)
    T[i, i], T[i, j], T[j, i], T[j, j] = c, -s, s, c
    T[:3, 3] = t
    return T


# Eight cube corners: symmetric under 180 deg about z.
CUBE = np.array([[x, y, z] for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (-0.05, 0.05)])


def test_translation_offset_of_one_centimetre():
    T_gt = _pose()
    T_pred = _pose(t=(0.01, 0.0, 0.5))
    assert add_error(CUBE, T_pred, T_gt) == pytest.approx(0.01)
    assert translation_error_m(T_pred[:3, 3], T_gt[:3, 3]) == pytest.approx(0.01)
    assert rotation_error_deg(T_pred[:3, :3], T_gt[:3, :3]) == pytest.approx(0.0, abs=1e-6)
    # Each shifted corner is 1 cm from its original, which is also its closest corner (10 cm spacing).
    assert adds_error(CUBE, T_pred, T_gt) == pytest.approx(0.01)


def test_half_turn_of_a_symmetric_object():
    T_gt = _pose()
    T_pred = _pose(180.0)
    # Each corner moves to the diagonally opposite one in its z layer: distance sqrt(2) * 10 cm.
    assert add_error(CUBE, T_pred, T_gt) == pytest.approx(np.sqrt(2) * 0.1)
    assert adds_error(CUBE, T_pred, T_gt) == pytest.approx(0.0, abs=1e-12)
    assert rotation_error_deg(T_pred[:3, :3], T_gt[:3, :3]) == pytest.approx(180.0)
    symmetries = np.stack([np.eye(4), _pose(180.0, t=(0, 0, 0))])
    assert symmetric_add_error(CUBE, T_pred, T_gt, symmetries) == pytest.approx(0.0, abs=1e-12)
    assert symmetric_add_error(CUBE, T_pred, T_gt, np.eye(4)[None]) == pytest.approx(add_error(CUBE, T_pred, T_gt))


def test_rotation_error_angle():
    assert rotation_error_deg(_pose(30.0, axis=0)[:3, :3], _pose(-15.0, axis=0)[:3, :3]) == pytest.approx(45.0)


def test_auc_of_constant_errors_and_failures():
    assert auc(np.full(10, 0.02)) == pytest.approx(0.8)
    assert auc(np.zeros(3)) == pytest.approx(1.0)
    assert auc(np.array([0.2, 0.1])) == 0.0
    assert auc(np.array([np.inf, np.inf])) == 0.0
    assert auc(np.array([0.0, np.inf])) == pytest.approx(0.5)
    assert auc(np.array([0.0, np.nan])) == pytest.approx(0.5)
    assert auc(np.full(4, 0.01), max_threshold=0.02) == pytest.approx(0.5)


def test_auc_equals_integrated_accuracy_curve():
    errors = np.random.default_rng(0).exponential(0.03, 500)
    thresholds = np.linspace(0.0, 0.1, 100001)
    accuracy = (errors[None, :] <= thresholds[:, None]).mean(axis=1)
    assert auc(errors) == pytest.approx(np.trapezoid(accuracy, thresholds) / 0.1, abs=1e-4)


def test_pose_errors_bundle_and_missing_prediction():
    T_gt = _pose()
    T_pred = _pose(180.0, t=(0.0, 0.02, 0.5))
    errors = pose_errors(CUBE, T_pred, T_gt, np.stack([np.eye(4), _pose(180.0, t=(0, 0, 0))]))
    assert isinstance(errors, PoseErrors)
    assert errors.translation_m == pytest.approx(0.02)
    assert errors.rotation_deg == pytest.approx(180.0)
    assert errors.add_symmetric == pytest.approx(0.02)
    assert errors.add > errors.add_symmetric
    assert pose_errors(CUBE, T_pred, T_gt).add_symmetric == pytest.approx(errors.add)
    missing = pose_errors(CUBE, None, T_gt)
    assert all(np.isinf(v) for v in (missing.add, missing.adds, missing.add_symmetric, missing.rotation_deg,
                                      missing.translation_m))


def test_bad_input_raises():
    with pytest.raises(InputError):
        add_error(np.zeros((4, 2)), np.eye(4), np.eye(4))
    with pytest.raises(InputError):
        add_error(CUBE, np.full((4, 4), np.nan), np.eye(4))
    with pytest.raises(InputError):
        symmetric_add_error(CUBE, np.eye(4), np.eye(4), np.zeros((0, 4, 4)))
    with pytest.raises(InputError):
        auc(np.array([]))
    with pytest.raises(InputError):
        auc(np.array([-0.1]))
    with pytest.raises(ConfigError):
        auc(np.array([0.1]), max_threshold=0.0)
