"""The known object: a mesh loaded with trimesh, centred, measured and sampled.

The engine works in the *centred* object frame (origin at the midpoint of the
vertex bounding box, as FoundationPose does); :attr:`ObjectModel.T_centered_mesh`
re-expresses poses for the mesh file's own origin at the API boundary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from fpose_ros.core.errors import MeshError
from fpose_ros.core.symmetry import Symmetry

log = logging.getLogger(__name__)

#: Objects larger than this (metres) are almost surely in millimetres.
MAX_DIAMETER_M = 3.0
#: Objects smaller than this (metres) are almost surely in the wrong units too.
MIN_DIAMETER_M = 0.005
_GREY = 128.0 / 255.0


@dataclass(frozen=True)
class ObjectModel:
    """A rigid object in its centred frame.

    Attributes:
        vertices: (V, 3) float32 metres, centred frame.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside.
        vertex_colors: (V, 3) float32 RGB in [0, 1] (grey 128/255 when the mesh has none).
        vertex_normals: (V, 3) float32 unit normals, centred frame.
        diameter: largest distance between two vertices, metres.
        T_centered_mesh: (4, 4) float64, takes mesh-file coordinates (after scaling) to the centred frame.
        surface_points: (N, 3) float32 points sampled uniformly on the surface, centred frame.
        surface_normals: (N, 3) float32 unit face normals at ``surface_points``.
        symmetries: (S, 4, 4) float64 transforms of the centred frame that leave the object
            looking the same (shape and print); always starts with the identity. Declared by the user
            (:func:`fpose_ros.core.symmetry.parse_symmetry`); a continuous symmetry is sampled here.
        symmetry_axis: (3,) float64 unit axis of a continuous symmetry (any turn about it through the
            centred origin leaves the object looking the same), centred frame; None when there is none.
        uv: (V, 2) float32 texture coordinates, or None.
        texture: (Ht, Wt, 3) float32 RGB in [0, 1], or None.
        name: a label for logs (the file stem).
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray
    vertex_normals: np.ndarray
    diameter: float
    T_centered_mesh: np.ndarray
    surface_points: np.ndarray
    surface_normals: np.ndarray
    symmetries: np.ndarray = field(default_factory=lambda: np.eye(4)[None])
    symmetry_axis: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    name: str = "object"

    @property
    def radius(self) -> float:
        """Half the diameter, metres."""
        return 0.5 * self.diameter

    @property
    def is_textured(self) -> bool:
        """Whether the surface has a print (a texture image, or vertex colours varying by more than 3 %)."""
        return self.texture is not None or float(self.vertex_colors.std(axis=0).max()) > 0.03

    def pose_for_mesh_origin(self, T_cam_centered: np.ndarray) -> np.ndarray:
        """(…, 4, 4) pose of the centred frame -> pose of the mesh file's own frame."""
        return T_cam_centered @ self.T_centered_mesh

    def pose_for_centered(self, T_cam_mesh: np.ndarray) -> np.ndarray:
        """(…, 4, 4) pose of the mesh file's own frame -> pose of the centred frame."""
        return T_cam_mesh @ np.linalg.inv(self.T_centered_mesh)


def object_model_from_trimesh(
    mesh: trimesh.Trimesh,
    *,
    scale: float = 1.0,
    symmetries: np.ndarray | None = None,
    symmetry_axis: np.ndarray | None = None,
    n_surface_samples: int = 4096,
    name: str = "object",
    seed: int = 0,
) -> ObjectModel:
    """Centre, measure and sample a trimesh mesh.

    Args:
        mesh: the mesh, in units of ``1 / scale`` metres.
        scale: multiplies vertex coordinates to give metres (0.001 for millimetre files).
        symmetries: (S, 4, 4) symmetry transforms in the centred frame (identity added if missing).
        symmetry_axis: (3,) unit axis of a continuous symmetry in the centred frame (``symmetries`` then
            holds turns about it), or None.
        n_surface_samples: how many surface points to sample for ICP and metrics.
        name: label for logs.
        seed: seed of the surface sampling.

    Raises:
        MeshError: empty mesh, non-finite vertices, or a size that is not plausibly metres.
    """
    if not np.isfinite(scale) or scale <= 0:
        raise MeshError(f"mesh_scale must be a positive number, got {scale}")
    if len(mesh.faces) == 0 or len(mesh.vertices) < 3:
        raise MeshError(f"mesh '{name}' has no triangles")
    vertices = np.asarray(mesh.vertices, dtype=np.float64) * scale
    if not np.isfinite(vertices).all():
        raise MeshError(f"mesh '{name}' has non-finite vertex coordinates")
    center = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    T_centered_mesh = np.eye(4)
    T_centered_mesh[:3, 3] = -center
    vertices = vertices - center

    diameter = _diameter(vertices)
    if diameter > MAX_DIAMETER_M:
        raise MeshError(
            f"mesh '{name}' is {diameter:.1f} m across after mesh_scale={scale}: it is probably in "
            f"millimetres; set mesh_scale to 0.001 (the engine works in metres)"
        )
    if diameter < MIN_DIAMETER_M:
        raise MeshError(f"mesh '{name}' is only {diameter * 1000:.2f} mm across after mesh_scale={scale}; "
                        "check the mesh units")

    colors, uv, texture = _colours(mesh)
    scaled = trimesh.Trimesh(vertices=vertices, faces=np.asarray(mesh.faces), process=False)
    points, face_idx = trimesh.sample.sample_surface(scaled, n_surface_samples, seed=seed)
    normals = scaled.face_normals[face_idx]

    sym = np.eye(4)[None] if symmetries is None else np.asarray(symmetries, dtype=np.float64).reshape(-1, 4, 4)
    if not np.allclose(sym[0], np.eye(4)):
        sym = np.concatenate([np.eye(4)[None], sym])

    return ObjectModel(
        vertices=vertices.astype(np.float32),
        faces=np.asarray(mesh.faces, dtype=np.int64),
        vertex_colors=colors,
        vertex_normals=np.asarray(scaled.vertex_normals, dtype=np.float32),
        diameter=float(diameter),
        T_centered_mesh=T_centered_mesh,
        surface_points=points.astype(np.float32),
        surface_normals=normals.astype(np.float32),
        symmetries=sym,
        symmetry_axis=None if symmetry_axis is None else np.asarray(symmetry_axis, dtype=np.float64),
        uv=uv,
        texture=texture,
        name=name,
    )


def load_object_model(
    path: str | Path,
    *,
    scale: float = 1.0,
    symmetry: Symmetry | None = None,
    n_surface_samples: int = 4096,
) -> ObjectModel:
    """Load a mesh file (.obj with .mtl texture, .ply, .stl, .glb, ...) as an :class:`ObjectModel`.

    ``symmetry``: the object's declared symmetries (:func:`fpose_ros.core.symmetry.parse_symmetry`), or
    None for none.

    Raises:
        MeshError: the file is missing, unreadable, holds no triangles, or is in the wrong units.
    """
    path = Path(path)
    return object_model_from_trimesh(
        load_trimesh(path, process=False), scale=scale, n_surface_samples=n_surface_samples, name=path.stem,
        symmetries=None if symmetry is None else symmetry.transforms(),
        symmetry_axis=None if symmetry is None else symmetry.axis,
    )


def load_trimesh(path: str | Path, process: bool = True) -> trimesh.Trimesh:
    """The single triangle mesh in a mesh file, as trimesh loads it (``process``: let trimesh merge vertices).

    Raises:
        MeshError: the file is missing, unreadable, or holds no triangle mesh.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"mesh file not found: {path}")
    try:
        loaded = trimesh.load(path, force="mesh", process=process)
    except Exception as exc:  # trimesh raises many types for broken files
        raise MeshError(f"cannot read mesh file {path}: {exc}") from exc
    if not isinstance(loaded, trimesh.Trimesh):
        raise MeshError(f"mesh file {path} holds no triangle mesh")
    return loaded


def _diameter(vertices: np.ndarray) -> float:
    """Largest pairwise distance, exact via the convex hull's vertices (O(H^2) with H hull vertices)."""
    try:
        hull = trimesh.convex.convex_hull(vertices).vertices
    except Exception:  # degenerate (flat) meshes have no 3-D hull
        hull = vertices
    if len(hull) > 4000:
        hull = hull[np.random.default_rng(0).choice(len(hull), 4000, replace=False)]
    diff = hull[:, None, :] - hull[None, :, :]
    return float(np.sqrt((diff**2).sum(-1)).max())


def _colours(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per-vertex colours, and the texture with its UVs when the mesh has one."""
    n = len(mesh.vertices)
    grey = np.full((n, 3), _GREY, dtype=np.float32)
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.texture.TextureVisuals):
        image = getattr(visual.material, "image", None)
        if image is None:
            image = getattr(visual.material, "baseColorTexture", None)
        if visual.uv is not None and image is not None:
            texture = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
            uv = np.asarray(visual.uv, dtype=np.float32)
            colors = np.asarray(visual.to_color().vertex_colors, dtype=np.float32)[:, :3] / 255.0
            return colors, uv, texture
        return grey, None, None
    if isinstance(visual, trimesh.visual.color.ColorVisuals) and visual.kind in ("vertex", "face"):
        # trimesh averages face colours onto vertices for the "face" kind.
        return np.asarray(visual.vertex_colors, dtype=np.float32)[:, :3] / 255.0, None, None
    return grey, None, None
