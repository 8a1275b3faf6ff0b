"""Grocery-like objects with UV textures: the shape is (nearly) symmetric, the print is not.

A labelled can and a bottle are solids of revolution (any turn about their axis fits the shape) and
the boxes fit themselves after half turns about three axes; only the printed texture tells those
poses apart. Each object is a :class:`trimesh.Trimesh` with :class:`trimesh.visual.TextureVisuals`
(per-vertex UVs into one atlas image), so it exports as OBJ + MTL + PNG and any renderer draws it
from the same file the node loads.

Texture atlases are drawn with OpenCV (text, bars, a photograph from scikit-image's bundled samples),
seeded, so an object is the same on every run. Units: metres, object frame at the mesh's centre with
+z along the axis of revolution (can, bottle) or the box's shortest side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import trimesh
from PIL import Image

from fpose_ros.core.synthetic.textures import sample_image

#: Names of :func:`textured_mesh`, with what each looks like.
TEXTURED_OBJECTS = {
    "soup_can": "labelled can, 6.7 cm x 10.2 cm (red/white label, title, barcode)",
    "bottle": "bottle, 6 cm x 19 cm (yellow body, printed label band, blue cap)",
    "cereal_box": "box, 16 x 21 x 6 cm, each face printed differently (photo, title, text)",
    "sugar_box": "box, 9 x 17.5 x 4.5 cm, each face printed differently",
}
ATLAS_PX = 1024


@dataclass
class _Patches:
    """Vertices (V, 3), faces (F, 3) and UVs (V, 2) accumulated from parametric patches."""

    vertices: list[np.ndarray]
    faces: list[np.ndarray]
    uv: list[np.ndarray]

    def add(self, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> None:
        offset = sum(len(v) for v in self.vertices)
        self.vertices.append(vertices)
        self.faces.append(faces + offset)
        self.uv.append(uv)

    def grid(self, surface: Callable[[np.ndarray, np.ndarray], np.ndarray], ns: int, nt: int,
             uv_box: tuple[float, float, float, float]) -> None:
        """A patch ``surface(s, t)`` over s, t in [0, 1] on an ``ns`` x ``nt`` grid of quads.

        ``uv_box`` = (u0, v0, u1, v1): the atlas rectangle s, t map to (linearly). Triangles wind
        counter-clockwise seen from the side that d/ds x d/dt points to.
        """
        s, t = np.meshgrid(np.linspace(0, 1, ns + 1), np.linspace(0, 1, nt + 1), indexing="ij")
        points = surface(s.ravel(), t.ravel())
        u0, v0, u1, v1 = uv_box
        uv = np.stack([u0 + (u1 - u0) * s.ravel(), v0 + (v1 - v0) * t.ravel()], axis=1)
        idx = np.arange((ns + 1) * (nt + 1)).reshape(ns + 1, nt + 1)
        a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
        faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
        self.add(points, faces, uv)

    def disc(self, z: float, radius: float, sections: int, up: bool, uv_centre: tuple[float, float],
             uv_radius: float) -> None:
        """A flat disc at height ``z`` facing +z (``up``) or -z, as a fan around its centre."""
        angle = np.linspace(0, 2 * np.pi, sections, endpoint=False)
        rim = np.stack([radius * np.cos(angle), radius * np.sin(angle), np.full(sections, z)], 1)
        vertices = np.vstack([[0.0, 0.0, z], rim])
        uv = np.vstack([uv_centre, np.stack([uv_centre[0] + uv_radius * np.cos(angle),
                                             uv_centre[1] + uv_radius * np.sin(angle)], 1)])
        i = np.arange(sections)
        faces = np.stack([np.zeros(sections, np.int64), 1 + i, 1 + (i + 1) % sections], 1)
        self.add(vertices, faces if up else faces[:, ::-1], uv)

    def mesh(self, atlas: np.ndarray) -> trimesh.Trimesh:
        """The mesh with ``atlas`` ((H, W, 3) uint8 RGB) as its texture."""
        mesh = trimesh.Trimesh(np.vstack(self.vertices), np.vstack(self.faces), process=False)
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(atlas), diffuse=(255, 255, 255, 255))
        mesh.visual = trimesh.visual.TextureVisuals(uv=np.vstack(self.uv), material=material)
        return mesh


def _revolved(profile_r: Callable[[np.ndarray], np.ndarray], height: float, sections: int, rows: int,
              side_uv: tuple[float, float, float, float], top_r: float, bottom_r: float) -> _Patches:
    """A solid of revolution about +z, centred on z = 0: side ``profile_r(t)`` (t = 0 bottom .. 1 top), two caps.

    Side UVs run ``s`` (angle) along u and ``t`` along v; the caps use the atlas's bottom-left and
    bottom-right corners.
    """
    def side(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        r = profile_r(t)
        return np.stack([r * np.cos(2 * np.pi * s), r * np.sin(2 * np.pi * s), (t - 0.5) * height], 1)

    patches = _Patches([], [], [])
    patches.grid(side, sections, rows, side_uv)
    patches.disc(0.5 * height, top_r, sections, True, (0.875, 0.125), 0.12)
    patches.disc(-0.5 * height, bottom_r, sections, False, (0.625, 0.125), 0.12)
    return patches


def _box(extents: tuple[float, float, float], cells: int = 6) -> _Patches:
    """A box centred on the origin: six patches, face k in atlas cell k of a 3 x 2 grid (row 0 at the top)."""
    hx, hy, hz = (0.5 * e for e in extents)
    # Each face: origin corner, s direction, t direction (s x t = outward normal).
    faces = [
        ((-hx, -hy, hz), (2 * hx, 0, 0), (0, 2 * hy, 0)),    # +z: front
        ((hx, -hy, -hz), (-2 * hx, 0, 0), (0, 2 * hy, 0)),   # -z: back
        ((hx, -hy, hz), (0, 0, -2 * hz), (0, 2 * hy, 0)),    # +x side
        ((-hx, -hy, -hz), (0, 0, 2 * hz), (0, 2 * hy, 0)),   # -x side
        ((-hx, hy, hz), (2 * hx, 0, 0), (0, 0, -2 * hz)),    # +y: top
        ((-hx, -hy, -hz), (2 * hx, 0, 0), (0, 0, 2 * hz)),   # -y: bottom
    ]
    patches = _Patches([], [], [])
    for k, (origin, ds, dt) in enumerate(faces):
        patches.grid(_parallelogram(np.array(origin), np.array(ds), np.array(dt)), cells, cells, _box_cell(k))
    return patches


def _parallelogram(origin: np.ndarray, ds: np.ndarray, dt: np.ndarray
                   ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The flat patch ``origin + s ds + t dt`` as a surface function of :meth:`_Patches.grid`."""
    def surface(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        return origin + s[:, None] * ds + t[:, None] * dt
    return surface


def _box_cell(k: int) -> tuple[float, float, float, float]:
    """UV box of face ``k`` of a box: cell k of a 3 x 2 grid over the atlas (row 0 at the top), 1 % margins."""
    col, row = k % 3, k // 3
    return col / 3 + 0.01, 1 - (row + 1) / 2 + 0.01, (col + 1) / 3 - 0.01, 1 - row / 2 - 0.01


def _uv_rect(atlas: np.ndarray, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixel rectangle (x0, y0, x1, y1) of a UV box; v = 0 is the image's bottom row (OBJ's convention)."""
    h, w = atlas.shape[:2]
    u0, v0, u1, v1 = box
    return int(u0 * w), int((1 - v1) * h), int(u1 * w), int((1 - v0) * h)


def _text(image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int],
          thickness: int) -> None:
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, colour, thickness, cv2.LINE_AA)


def _barcode(image: np.ndarray, x0: int, y0: int, w: int, h: int, rng: np.random.Generator) -> None:
    cv2.rectangle(image, (x0, y0), (x0 + w, y0 + h), (250, 250, 250), -1)
    x = x0 + 6
    while x < x0 + w - 8:
        bar = int(rng.integers(1, 5))
        cv2.rectangle(image, (x, y0 + 6), (x + bar - 1, y0 + h - 6), (10, 10, 10), -1)
        x += bar + int(rng.integers(1, 5))


def _photo(image: np.ndarray, rect: tuple[int, int, int, int], index: int) -> None:
    x0, y0, x1, y1 = rect
    photo = (sample_image(index) * 255).astype(np.uint8)
    image[y0:y1, x0:x1] = cv2.resize(photo, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)


def _caps(atlas: np.ndarray, metal: tuple[int, int, int]) -> None:
    """Lids in the bottom-right quarter: metal with concentric rings and an off-centre tab mark."""
    for cx in (0.625, 0.875):
        centre = (int(cx * ATLAS_PX), int(0.875 * ATLAS_PX))
        cv2.circle(atlas, centre, int(0.124 * ATLAS_PX), metal, -1)
        for r in (0.1, 0.075, 0.05):
            cv2.circle(atlas, centre, int(r * ATLAS_PX), tuple(int(0.7 * c) for c in metal), 3)
        cv2.circle(atlas, (centre[0] + 40, centre[1] - 20), 18, (60, 60, 60), -1)


def soup_can() -> trimesh.Trimesh:
    """A labelled can (tomato-soup-like): red top, white bottom, title, medallion and barcode on one side."""
    rng = np.random.default_rng(3)
    atlas = np.full((ATLAS_PX, ATLAS_PX, 3), 200, np.uint8)
    side = (0.0, 0.26, 1.0, 1.0)
    x0, y0, x1, y1 = _uv_rect(atlas, side)
    mid = (y0 + y1) // 2
    atlas[y0:mid, x0:x1] = (200, 25, 30)
    atlas[mid:y1, x0:x1] = (240, 236, 228)
    atlas[y0:y0 + 18, x0:x1] = (230, 200, 90)  # gold rims
    atlas[y1 - 18:y1, x0:x1] = (230, 200, 90)
    _text(atlas, "FPOSE", (60, mid - 80), 3.2, (250, 250, 250), 8)
    _text(atlas, "TOMATO", (60, mid + 110), 2.6, (200, 25, 30), 7)
    _text(atlas, "SOUP", (120, mid + 200), 2.6, (200, 25, 30), 7)
    cv2.circle(atlas, (640, mid), 70, (230, 200, 90), -1)
    cv2.circle(atlas, (640, mid), 50, (200, 25, 30), 6)
    _text(atlas, "condensed", (540, mid + 140), 1.2, (40, 40, 40), 2)
    _barcode(atlas, 800, mid + 40, 150, 150, rng)
    _caps(atlas, (175, 175, 180))
    return _revolved(lambda t: np.full_like(t, 0.0335), 0.102, 64, 6, side, 0.0325, 0.0325).mesh(atlas)


def bottle() -> trimesh.Trimesh:
    """A bottle (mustard-like): yellow body with a printed label band on one side, a blue cap."""
    rng = np.random.default_rng(4)
    atlas = np.full((ATLAS_PX, ATLAS_PX, 3), 0, np.uint8)
    side = (0.0, 0.26, 1.0, 1.0)
    x0, y0, x1, y1 = _uv_rect(atlas, side)
    atlas[y0:y1, x0:x1] = (235, 200, 30)
    neck = y0 + int(0.22 * (y1 - y0))  # the top 22% of the profile is shoulder, neck and cap
    atlas[y0:y0 + int(0.1 * (y1 - y0)), x0:x1] = (30, 70, 180)
    # The label covers 40% of the circumference: the rest is plain yellow, as on a real bottle.
    lx0, lx1, ly0, ly1 = 40, 440, neck + 80, y1 - 60
    cv2.rectangle(atlas, (lx0, ly0), (lx1, ly1), (245, 245, 240), -1)
    cv2.rectangle(atlas, (lx0, ly0), (lx1, ly1), (200, 30, 30), 10)
    _text(atlas, "YELLOW", (lx0 + 30, ly0 + 110), 2.0, (200, 30, 30), 6)
    _text(atlas, "MUSTARD", (lx0 + 20, ly0 + 210), 1.9, (30, 30, 30), 5)
    _photo(atlas, (lx0 + 60, ly0 + 260, lx1 - 60, ly1 - 40), 1)
    _barcode(atlas, 640, ly1 - 200, 140, 150, rng)
    _caps(atlas, (30, 70, 180))

    def radius(t: np.ndarray) -> np.ndarray:
        body = 0.03 * (1 - 0.08 * np.abs(2 * t - 0.7))  # a slight waist
        shoulder = np.interp(t, [0.78, 0.9], [0.03, 0.012])
        return np.where(t < 0.78, body, np.where(t < 0.9, shoulder, 0.012))

    return _revolved(radius, 0.19, 64, 24, side, 0.012, 0.0285).mesh(atlas)


def _printed_box(extents: tuple[float, float, float], title: str, palette: tuple[tuple[int, int, int], ...],
                 photo: int, seed: int) -> trimesh.Trimesh:
    """A box whose six faces are printed differently: the front with a photo and the title."""
    rng = np.random.default_rng(seed)
    atlas = np.full((ATLAS_PX, ATLAS_PX, 3), 0, np.uint8)
    for k in range(6):
        x0, y0, x1, y1 = _uv_rect(atlas, _box_cell(k))
        w, h = x1 - x0, y1 - y0
        atlas[y0:y1, x0:x1] = palette[k % len(palette)]
        if k == 0:  # front: title over a photograph, a banner in the corner
            _photo(atlas, (x0 + w // 8, y0 + h // 3, x1 - w // 8, y1 - h // 10), photo)
            _text(atlas, title, (x0 + 12, y0 + h // 5), 1.5, (250, 245, 230), 4)
            cv2.rectangle(atlas, (x0, y0), (x0 + w // 3, y0 + h // 14), (250, 220, 40), -1)
        elif k == 1:  # back: lines of small text and a panel
            for line in range(12):
                words = "".join(rng.choice(list("ABCDEFGHIKLMNOPRSTU "), 14))
                _text(atlas, words, (x0 + 10, y0 + 40 + line * 38), 0.7, (20, 20, 20), 1)
            cv2.rectangle(atlas, (x0 + w // 2, y1 - h // 4), (x1 - 10, y1 - 10), (250, 250, 250), -1)
            _barcode(atlas, x0 + w // 2 + 10, y1 - h // 4 + 10, w // 2 - 40, h // 4 - 30, rng)
        else:  # sides, top, bottom: a band and a word, placed off-centre
            band = y0 + int(h * rng.uniform(0.2, 0.6))
            atlas[band:band + h // 8, x0:x1] = palette[(k + 1) % len(palette)]
            _text(atlas, title[: 4 + k], (x0 + 8, band - 12), 0.9, (250, 250, 250), 2)
            cv2.circle(atlas, (x0 + int(w * rng.uniform(0.2, 0.8)), y1 - h // 6), h // 12, (250, 250, 250), -1)
    return _box(extents).mesh(atlas)


def cereal_box() -> trimesh.Trimesh:
    """A cereal box (cracker-box-like), 16 x 21 x 6 cm."""
    return _printed_box((0.16, 0.21, 0.06), "CRUNCHY", ((180, 30, 30), (30, 60, 150), (220, 170, 30)), 2, 7)


def sugar_box() -> trimesh.Trimesh:
    """A sugar box, 9 x 17.5 x 4.5 cm."""
    return _printed_box((0.09, 0.175, 0.045), "SUGAR", ((225, 220, 205), (30, 110, 60), (40, 40, 140)), 0, 8)


_MAKERS: dict[str, Callable[[], trimesh.Trimesh]] = {
    "soup_can": soup_can, "bottle": bottle, "cereal_box": cereal_box, "sugar_box": sugar_box}


def textured_mesh(name: str) -> trimesh.Trimesh:
    """The textured object ``name`` (one of :data:`TEXTURED_OBJECTS`).

    Raises:
        ValueError: unknown name.
    """
    if name not in _MAKERS:
        raise ValueError(f"unknown textured object {name!r}; choose one of {sorted(_MAKERS)}")
    return _MAKERS[name]()
