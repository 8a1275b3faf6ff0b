"""The axis about which an object's *shape* looks the same at any angle (a can, a bottle), if any.

Depth cannot tell apart poses that differ by a turn about such an axis; only the object's texture
can. The engine searches turns about it by appearance (:mod:`fpose_ros.core.estimator`). This is
a property of the mesh's geometry, not the user's declared symmetries (``ObjectModel.symmetries``,
which say the object *looks* the same, texture included).

Test: the model's surface samples, turned about a candidate axis through the surface's centroid by
angles that are no divisor of 360 deg, must land on the surface (a denser sample of it) about as
closely as unturned samples do. Candidates: the centred frame's axes and the principal axes of the
surface's area (an axis of revolution is one of the latter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from fpose_ros.core.object_model import ObjectModel

#: Turns, degrees, that map no polygon or box onto itself.
_TEST_TURNS_DEG = (37.0, 101.0, 163.0)
#: Surface samples turned; the dense sample they must land on has 8 times as many.
_QUERY_POINTS = 1024


@dataclass(frozen=True)
class RevolutionAxis:
    """A line in the centred frame: ``point`` (3,) metres on it and unit ``direction`` (3,), float64."""

    point: np.ndarray
    direction: np.ndarray


def revolution_axis(model: ObjectModel, tolerance: float = 0.004, seed: int = 0) -> RevolutionAxis | None:
    """The axis of revolution of ``model``'s shape in the centred frame, or None.

    Args:
        model: the object.
        tolerance: turned samples may lie farther from the surface than unturned ones by at most this
            fraction of the diameter (mean distance), e.g. 0.004 = 0.4 mm on a 10 cm object.
        seed: seed of the dense surface sample.

    Returns:
        The axis (through the surface's centroid; direction's largest component positive), or None
        when no candidate passes. O(S log S) for S = 8 x 1024 samples.
    """
    points = np.asarray(model.surface_points[:_QUERY_POINTS], dtype=np.float64)
    mesh = trimesh.Trimesh(vertices=model.vertices, faces=model.faces, process=False)
    dense, _ = trimesh.sample.sample_surface(mesh, 8 * _QUERY_POINTS, seed=seed)
    tree = cKDTree(dense)
    baseline = float(tree.query(points)[0].mean())
    centroid, principal = surface_moments(model.vertices, model.faces)
    best, best_error = None, np.inf
    for axis in np.concatenate([np.eye(3), principal]):
        turns = Rotation.from_rotvec(np.radians(_TEST_TURNS_DEG)[:, None] * axis[None, :])
        error = max(float(tree.query(turn.apply(points - centroid) + centroid)[0].mean()) for turn in turns)
        if error < best_error:
            best, best_error = axis, error
    if best is None or best_error > baseline + tolerance * model.diameter:
        return None
    return RevolutionAxis(point=centroid, direction=best * np.sign(best[np.argmax(np.abs(best))]))


def surface_moments(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroid (3,) and principal axes ((3, 3), rows) of the surface's area, exact (no sampling).

    Over a triangle (a, b, c) of area A, the integral of x x^T is A / 12 (a a^T + b b^T + c c^T + s s^T)
    with s = a + b + c, and that of x is A s / 3. O(F).
    """
    corners = np.asarray(vertices, dtype=np.float64)[faces]  # (F, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    s = corners.sum(axis=1)
    second = np.einsum("f,fki,fkj->ij", area, corners, corners) + np.einsum("f,fi,fj->ij", area, s, s)
    total = area.sum()
    mean = (area[:, None] * s).sum(axis=0) / (3.0 * total)
    covariance = second / (12.0 * total) - np.outer(mean, mean)
    return mean, np.linalg.eigh(covariance)[1].T

