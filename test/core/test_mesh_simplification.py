"""Decimation for rendering keeps the shape; winding check."""

import numpy as np
import trimesh

from fpose_ros.core.mesh_simplification import is_closed_and_oriented, simplify_for_rendering
from fpose_ros.core.object_model import object_model_from_trimesh


def test_decimated_sphere_stays_on_the_surface():
    model = object_model_from_trimesh(trimesh.creation.icosphere(5, radius=0.05))
    small = simplify_for_rendering(model, 2000)
    assert len(small.faces) <= 2000
    radii = np.linalg.norm(small.vertices, axis=1)
    assert np.abs(radii - 0.05).max() < 5e-4
    assert small.diameter == model.diameter and small.surface_points is model.surface_points
    assert simplify_for_rendering(model, 10**6) is model


def test_closed_and_oriented():
    assert is_closed_and_oriented(object_model_from_trimesh(trimesh.creation.box(extents=(0.1, 0.1, 0.1))))
    inverted = trimesh.creation.box(extents=(0.1, 0.1, 0.1))
    inverted.invert()
    assert not is_closed_and_oriented(object_model_from_trimesh(inverted))
    quad = trimesh.Trimesh([[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0]], [[0, 1, 2]])
    assert not is_closed_and_oriented(object_model_from_trimesh(quad))
