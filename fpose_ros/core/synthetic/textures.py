"""Procedural colour: solid textures evaluated at 3-D points, and 2-D background images.

Solid textures colour a mesh without a UV layout: the colour of a vertex is a function of its
position, so any mesh (procedural or scanned) gets a rich, asymmetric appearance. All functions
are vectorised over points/pixels.
"""

from __future__ import annotations

import numpy as np

#: Texture families of :func:`solid_texture`.
FAMILIES = ("noise", "stripes", "checkers", "bands")


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
    else:
        raise ValueError(f"unknown texture family {family!r}; choose one of {FAMILIES}")
    return np.clip(colours, 0.0, 1.0).astype(np.float32)


def background_image(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1]: a cluttered-looking wall of blended sinusoids and blobs."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    for _ in range(5):
        direction = rng.normal(size=2)
        freq = rng.uniform(0.01, 0.12)
        wave = 0.5 + 0.5 * np.sin((u * direction[0] + v * direction[1]) * freq + rng.uniform(0, 2 * np.pi))
        image += wave[..., None] * rng.uniform(0.0, 0.4, 3)
    return np.clip(image / image.max() * rng.uniform(0.5, 0.9), 0.0, 1.0)
