"""Procedural colour: solid textures evaluated at 3-D points, and 2-D background images.

Solid textures colour a mesh without a UV layout: the colour of a vertex is a function of its
position, so any mesh (procedural or scanned) gets a rich, asymmetric appearance: noise, stripes,
checkers, bands, projected scikit-image photographs and text-like labels. All functions are
vectorised over points/pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Texture families of :func:`solid_texture`.
FAMILIES = ("noise", "stripes", "checkers", "bands", "image", "label")
#: Colour photographs bundled with scikit-image (no download), for "image" textures and wall posters.
SAMPLE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def sample_image(index: int) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1]: scikit-image sample photograph ``index`` (modulo their number)."""
    import skimage.data

    return getattr(skimage.data, SAMPLE_IMAGES[index % len(SAMPLE_IMAGES)])().astype(np.float32) / 255.0


def _plane_coordinates(points: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (s, t), metres, of (N, 3) points projected onto a random plane through the origin."""
    a, b = np.linalg.qr(rng.normal(size=(3, 2)))[0].T
    return points @ a, points @ b


def solid_texture(points: np.ndarray, family: str, rng: np.random.Generator, scale_m: float = 0.03) -> np.ndarray:
    """Colours of 3-D points under a random texture of one family.

    Args:
        points: (N, 3) points in the object frame, metres.
        family: one of :data:`FAMILIES`.
        rng: randomness (palette, directions, phases).
        scale_m: characteristic feature size, metres.

    Returns:
        (N, 3) float32 RGB in [0, 1].
    """
    palette = rng.uniform(0.1, 0.95, (3, 3))
    p = points / scale_m
    if family == "noise":
        dirs = rng.normal(size=(6, 3))
        phases = rng.uniform(0, 2 * np.pi, 6)
        field = np.sin(p @ dirs.T * rng.uniform(0.5, 2.0, 6) + phases).mean(axis=1)  # (N,) in [-1, 1]
        t = (field - field.min()) / max(np.ptp(field), 1e-9)
        colours = palette[0] * (1 - t[:, None]) + palette[1] * t[:, None]
    elif family == "stripes":
        d = rng.normal(size=3)
        t = (np.sin(p @ (d / np.linalg.norm(d)) * np.pi) > 0).astype(np.float64)
        colours = palette[0] * (1 - t[:, None]) + palette[1] * t[:, None]
    elif family == "checkers":
        cells = np.floor(p).astype(np.int64).sum(axis=1) % 2
        colours = palette[cells]
    elif family == "bands":
        axis = rng.integers(0, 3)
        level = np.floor((points[:, axis] - points[:, axis].min()) / (scale_m * 0.7)).astype(np.int64) % 3
        colours = palette[level]
    elif family == "image":
        # A photograph projected along a random direction, tiled every 6 feature sizes.
        image = sample_image(int(rng.integers(len(SAMPLE_IMAGES))))
        s_m, t_m = _plane_coordinates(points, rng)
        h, w = image.shape[:2]
        rows = np.floor((t_m / (6 * scale_m)) % 1.0 * h).astype(np.int64)
        cols = np.floor((s_m / (6 * scale_m)) % 1.0 * w).astype(np.int64)
        colours = image[rows, cols]
    elif family == "label":
        colours = _label(points, rng, scale_m, palette)
    else:
        raise ValueError(f"unknown texture family {family!r}; choose one of {FAMILIES}")
    return np.clip(colours, 0.0, 1.0).astype(np.float32)


def _label(points: np.ndarray, rng: np.random.Generator, scale_m: float, palette: np.ndarray) -> np.ndarray:
    """(N, 3) colours: a pale label band with lines of dark glyph-like blocks on a base colour.

    Glyph cells are 0.5 x 0.8 ``scale_m``; a cell holds ink with probability 0.7 (gaps read as word breaks),
    decided by a hash of the cell index, so the pattern is fixed for a seed and never repeats regularly.
    """
    s_m, t_m = _plane_coordinates(points, rng)
    centre, half = np.median(t_m), 0.3 * np.ptp(t_m)
    band = np.abs(t_m - centre) < half
    col = np.floor(s_m / (0.5 * scale_m)).astype(np.int64)
    line = np.floor((t_m - centre) / (0.8 * scale_m)).astype(np.int64)
    salt = int(rng.integers(1, 2**20))
    inked = ((col * 73856093) ^ (line * 19349663) ^ salt) % 10 < 7
    # The glyph fills the middle of its cell, leaving letter and line spacing.
    fs, ft = (s_m / (0.5 * scale_m)) % 1.0, ((t_m - centre) / (0.8 * scale_m)) % 1.0
    ink = band & inked & (fs > 0.15) & (fs < 0.85) & (ft > 0.2) & (ft < 0.8)
    paper = np.array([0.92, 0.9, 0.85])
    colours = np.where(band[:, None], paper, palette[0])
    return np.where(ink[:, None], palette[2] * 0.3, colours)


def background_image(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1]: a cluttered-looking wall of blended sinusoids and blobs."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    for _ in range(5):
        direction = rng.normal(size=2)
        freq = rng.uniform(0.01, 0.12)
        wave = 0.5 + 0.5 * np.sin((u * direction[0] + v * direction[1]) * freq + rng.uniform(0, 2 * np.pi))
        image += wave[..., None] * rng.uniform(0.0, 0.4, 3)
    image = image / image.max() * rng.uniform(0.5, 0.9)
    # A poster: a sample photograph at a random place and size, for texture the object could be confused with.
    poster = sample_image(int(rng.integers(len(SAMPLE_IMAGES))))
    ph = int(height * rng.uniform(0.25, 0.5))
    pw = min(width, int(ph * poster.shape[1] / poster.shape[0]))
    y0, x0 = int(rng.integers(0, height - ph + 1)), int(rng.integers(0, width - pw + 1))
    image[y0:y0 + ph, x0:x0 + pw] = cv2.resize(poster, (pw, ph), interpolation=cv2.INTER_AREA)
    return np.clip(image, 0.0, 1.0).astype(np.float32)
