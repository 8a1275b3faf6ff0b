"""Pose accuracy metrics for evaluation (numpy, float64): ADD, ADD-S, rotation / translation error, AUC.

Poses are (4, 4) ``T_cam_<frame>`` in metres (the engine's ``T_cam_centered`` with the model's centred
points, or ``T_cam_obj`` with points in the mesh file's frame); model points are (N, 3) in the frame the
poses refer to. A missing prediction has infinite error, so it counts as a failure at every threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from fpose_ros.core.errors import ConfigError, InputError

#: YCB-Video's AUC integrates accuracy over thresholds 0..10 cm.
YCBV_AUC_MAX_THRESHOLD_M = 0.1


@dataclass(frozen=True)
class PoseErrors:
    """All errors of one predicted pose against the ground truth (``inf`` when there is no prediction).

    Attributes:
        add: mean distance between corresponding model points, metres.
        adds: mean distance from each ground-truth point to the closest predicted point, metres.
        add_symmetric: ADD minimised over the object's symmetry transforms, metres (= add without symmetries).
        rotation_deg: geodesic rotation error, degrees in [0, 180].
        translation_m: Euclidean translation error, metres.
    """

    add: float
    adds: float
    add_symmetric: float
    rotation_deg: float
    translation_m: float


def add_error(points: np.ndarray, T_pred: np.ndarray, T_gt: np.ndarray) -> float:
    """ADD: mean ``|T_pred p - T_gt p|`` over (N, 3) model points, metres. O(N)."""
    points = _check_points(points)
    diff = _transform(_check_pose(T_pred, "T_pred"), points) - _transform(_check_pose(T_gt, "T_gt"), points)
    return float(np.linalg.norm(diff, axis=1).mean())


def adds_error(points: np.ndarray, T_pred: np.ndarray, T_gt: np.ndarray) -> float:
    """ADD-S: mean over ground-truth points of the distance to the closest predicted point, metres.

    Symmetry-agnostic (no correspondences). O(N log N) with a k-d tree.
    """
    points = _check_points(points)
    predicted = _transform(_check_pose(T_pred, "T_pred"), points)
    expected = _transform(_check_pose(T_gt, "T_gt"), points)
    distances, _ = cKDTree(predicted).query(expected, k=1)
    return float(np.mean(distances))


def symmetric_add_error(points: np.ndarray, T_pred: np.ndarray, T_gt: np.ndarray, symmetries: np.ndarray) -> float:
    """ADD minimised over symmetries: ``min_s mean |T_pred S_s p - T_gt p|``, metres.

    Args:
        points: (N, 3) model points, object frame.
        T_pred, T_gt: (4, 4) poses.
        symmetries: (S, 4, 4) object-frame transforms that leave the object looking the same
            (include the identity). O(S * N).
    """
    points = _check_points(points)
    T_pred = _check_pose(T_pred, "T_pred")
    expected = _transform(_check_pose(T_gt, "T_gt"), points)
    symmetries = np.asarray(symmetries, dtype=np.float64)
    if symmetries.ndim != 3 or symmetries.shape[1:] != (4, 4) or len(symmetries) == 0:
        raise InputError(f"symmetries must be (S, 4, 4) with S >= 1, got {symmetries.shape}")
    candidates = np.einsum("ij,sjk->sik", T_pred, symmetries)  # (S, 4, 4)
    predicted = points @ candidates[:, :3, :3].transpose(0, 2, 1) + candidates[:, None, :3, 3]  # (S, N, 3)
    return float(np.linalg.norm(predicted - expected, axis=2).mean(axis=1).min())


def rotation_error_deg(R_pred: np.ndarray, R_gt: np.ndarray) -> float:
    """Geodesic angle of ``R_pred^T R_gt`` for (3, 3) rotations, degrees in [0, 180]."""
    R_pred, R_gt = np.asarray(R_pred, dtype=np.float64), np.asarray(R_gt, dtype=np.float64)
    if R_pred.shape != (3, 3) or R_gt.shape != (3, 3):
        raise InputError(f"rotations must be (3, 3), got {R_pred.shape} and {R_gt.shape}")
    cos = 0.5 * (np.trace(R_pred.T @ R_gt) - 1.0)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def translation_error_m(t_pred: np.ndarray, t_gt: np.ndarray) -> float:
    """Euclidean distance between (3,) translations, metres."""
    t_pred, t_gt = np.asarray(t_pred, dtype=np.float64), np.asarray(t_gt, dtype=np.float64)
    if t_pred.shape != (3,) or t_gt.shape != (3,):
        raise InputError(f"translations must be (3,), got {t_pred.shape} and {t_gt.shape}")
    return float(np.linalg.norm(t_pred - t_gt))


def auc(errors: np.ndarray, max_threshold: float = YCBV_AUC_MAX_THRESHOLD_M) -> float:
    """Area under the accuracy-vs-threshold curve on ``[0, max_threshold]``, normalised to [0, 1].

    Accuracy at threshold ``th`` is the fraction of errors ``<= th``. The curve is a step function, so the
    area is computed exactly: each error ``e`` contributes ``max(0, 1 - e / max_threshold) / n`` (YCB-Video's
    VOC-style AUC of ADD / ADD-S with 10 cm; no threshold sampling). ``inf`` / NaN errors (missing poses)
    contribute 0. O(n).

    Args:
        errors: (n,) errors in metres, n >= 1.
        max_threshold: upper end of the threshold range, metres.
    """
    if not max_threshold > 0:
        raise ConfigError(f"max_threshold must be positive, got {max_threshold}")
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    if errors.size == 0:
        raise InputError("auc needs at least one error")
    if np.any(errors < 0):
        raise InputError("errors must be non-negative")
    errors = np.where(np.isnan(errors), np.inf, errors)
    return float(np.mean(np.clip(1.0 - errors / max_threshold, 0.0, 1.0)))


def pose_errors(
    points: np.ndarray, T_pred: np.ndarray | None, T_gt: np.ndarray, symmetries: np.ndarray | None = None
) -> PoseErrors:
    """Every metric of one prediction; ``T_pred=None`` (no pose) gives ``inf`` everywhere.

    Args:
        points: (N, 3) model points, object frame, metres.
        T_pred: (4, 4) predicted pose of the points' frame in the camera frame, or None.
        T_gt: (4, 4) ground-truth pose of the same frame.
        symmetries: (S, 4, 4) symmetry transforms for ``add_symmetric``; None = identity only.
    """
    T_gt = _check_pose(T_gt, "T_gt")
    if T_pred is None:
        return PoseErrors(np.inf, np.inf, np.inf, np.inf, np.inf)
    T_pred = _check_pose(T_pred, "T_pred")
    symmetries = np.eye(4)[None] if symmetries is None else symmetries
    return PoseErrors(
        add=add_error(points, T_pred, T_gt),
        adds=adds_error(points, T_pred, T_gt),
        add_symmetric=symmetric_add_error(points, T_pred, T_gt, symmetries),
        rotation_deg=rotation_error_deg(T_pred[:3, :3], T_gt[:3, :3]),
        translation_m=translation_error_m(T_pred[:3, 3], T_gt[:3, 3]),
    )


def _transform(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ T[:3, :3].T + T[:3, 3]


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise InputError(f"points must be (N, 3) with N >= 1, got {points.shape}")
    return points


def _check_pose(T: np.ndarray, name: str) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4) or not np.isfinite(T).all():
        raise InputError(f"{name} must be a finite (4, 4) pose, got shape {T.shape}")
    return T
