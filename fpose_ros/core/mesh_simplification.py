"""Rendering meshes: fewer triangles where a crop cannot show them, and whether back faces may be culled."""

from __future__ import annotations

import dataclasses

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from fpose_ros.core.object_model import ObjectModel


def simplify_for_rendering(model: ObjectModel, max_faces: int) -> ObjectModel:
    """A copy of ``model`` with at most ``max_faces`` triangles for the renderer.

    Quadric decimation (``fast_simplification``). It moves the surface: measured on a 22 cm
    procedural object from 11 k to 3 k triangles, 0.5 mm on average, 4 mm at the 99th percentile and
    up to 13 mm, and tiny input changes (float32 rounding) change the result. The texture is baked into vertex colours
    first (a decimated mesh has no valid UV layout), and each new vertex takes the colour of the
    nearest original vertex. Diameter, surface samples and symmetries are those of the full model.

    Args:
        model: the full-resolution object.
        max_faces: triangle budget, >= 4.

    Returns:
        ``model`` itself when it already fits, else the decimated copy (no uv/texture).
    """
    if len(model.faces) <= max_faces:
        return model
    import fast_simplification

    reduction = 1.0 - max_faces / len(model.faces)
    vertices, faces = fast_simplification.simplify(model.vertices.astype(np.float32), model.faces.astype(np.int64),
                                                   target_reduction=reduction)
    _, nearest = cKDTree(model.vertices).query(vertices)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    return dataclasses.replace(
        model,
        vertices=np.asarray(vertices, dtype=np.float32),
        faces=np.asarray(faces, dtype=np.int64),
        vertex_colors=model.vertex_colors[nearest],
        vertex_normals=np.asarray(mesh.vertex_normals, dtype=np.float32),
        uv=None,
        texture=None,
    )


def is_closed_and_oriented(model: ObjectModel) -> bool:
    """True when the mesh is watertight with consistent outward winding, so back faces are never visible.

    Vertices that only differ in colour/UV are merged first, as files split them at seams.
    """
    mesh = trimesh.Trimesh(model.vertices, model.faces, process=True)
    return bool(mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0)
