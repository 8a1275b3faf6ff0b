"""Axis of revolution of a shape: found on solids of revolution in any orientation, never on boxes."""

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from fpose_ros.core.object_model import object_model_from_trimesh
from fpose_ros.core.shape_symmetry import revolution_axis


def tilted(mesh: trimesh.Trimesh, rotvec: tuple[float, float, float]) -> trimesh.Trimesh:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    return mesh.copy().apply_transform(T)


@pytest.mark.parametrize("mesh", [trimesh.creation.cylinder(0.03, 0.1, sections=48),
                                  trimesh.creation.cone(0.04, 0.12, sections=64)])
def test_solids_of_revolution_have_their_axis_found_in_any_orientation(mesh):
    rotvec = (0.4, -0.7, 0.2)
    axis = revolution_axis(object_model_from_trimesh(tilted(mesh, rotvec)))
    assert axis is not None
    expected = Rotation.from_rotvec(rotvec).apply([0.0, 0.0, 1.0])
    assert abs(float(axis.direction @ expected)) > 0.999


@pytest.mark.parametrize("extents", [(0.05, 0.05, 0.05), (0.09, 0.175, 0.045), (0.06, 0.06, 0.15)])
def test_boxes_have_no_axis_of_revolution(extents):
    assert revolution_axis(object_model_from_trimesh(trimesh.creation.box(extents))) is None


def test_a_hexagonal_prism_is_not_a_solid_of_revolution():
    assert revolution_axis(object_model_from_trimesh(trimesh.creation.cylinder(0.05, 0.1, sections=6))) is None
