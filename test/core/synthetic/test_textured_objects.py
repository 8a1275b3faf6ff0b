"""Textured grocery-like objects: symmetric shapes, asymmetric prints, exported with their texture."""

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import MeshError
from fpose_ros.core.object_model import load_object_model
from fpose_ros.core.synthetic.assets import MIN_ASYMMETRY, export_asset, load_asset
from fpose_ros.core.synthetic.textured_objects import TEXTURED_OBJECTS

NAMES = sorted(TEXTURED_OBJECTS)


def _texel_colours(model, uv=None):
    """(N, 3) texture colours at UVs (default: each vertex's; v = 0 is the image's bottom row)."""
    uv = model.uv if uv is None else uv
    h, w = model.texture.shape[:2]
    cols = np.clip((uv[:, 0] * (w - 1)).round().astype(int), 0, w - 1)
    rows = np.clip(((1.0 - uv[:, 1]) * (h - 1)).round().astype(int), 0, h - 1)
    return model.texture[rows, cols]


def _surface_colours(model, n=20000):
    """(n, 3) surface points and their texture colours (UVs interpolated inside each triangle)."""
    mesh = trimesh.Trimesh(model.vertices, model.faces, process=False)
    points, face = trimesh.sample.sample_surface(mesh, n, seed=1)
    bary = trimesh.triangles.points_to_barycentric(mesh.triangles[face], points)
    uv = np.einsum("nk,nkj->nj", bary, model.uv[model.faces[face]])
    return points, _texel_colours(model, uv)


@pytest.mark.parametrize("name", NAMES)
def test_exported_obj_keeps_geometry_and_texture(name, tmp_path):
    model = load_asset(f"tex:{name}")
    path = export_asset(f"tex:{name}", tmp_path)
    assert path.suffix == ".obj"
    loaded = load_object_model(path)
    assert loaded.texture is not None and loaded.uv is not None
    assert loaded.diameter == pytest.approx(model.diameter, rel=1e-6)
    np.testing.assert_allclose(loaded.T_centered_mesh, model.T_centered_mesh, atol=1e-9)
    np.testing.assert_allclose(_texel_colours(loaded), _texel_colours(model), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_shape_is_symmetric_and_print_is_not(name):
    """A half turn about the object's z axis maps the shape onto itself but moves the print."""
    model = load_asset(f"tex:{name}")
    half_turn = Rotation.from_rotvec([0.0, 0.0, np.pi])
    points = model.surface_points
    moved = cKDTree(points).query(half_turn.apply(points))[0].mean() / model.diameter
    assert moved < 0.5 * MIN_ASYMMETRY  # only the sampling spacing remains (as for a plain box)
    points, colours = _surface_colours(model)
    nearest = cKDTree(points).query(half_turn.apply(points))[1]
    changed = np.abs(colours - colours[nearest]).max(axis=1) > 0.2
    assert changed.mean() > 0.1  # the print tells the two poses apart on a tenth of the surface or more


def test_unknown_textured_object_is_refused():
    with pytest.raises(MeshError, match="unknown textured object"):
        load_asset("tex:teapot")
