"""RealSense-like depth noise and detector-like mask errors, vectorised over the image."""

from __future__ import annotations

import cv2
import numpy as np


def realsense_depth(depth: np.ndarray, rng: np.random.Generator, dropout: float = 0.01) -> np.ndarray:
    """Corrupt a perfect depth image the way an active-stereo camera does.

    Axial noise grows with the square of the distance (sigma = 0.5 mm + 1.5 mm/m^2 * z^2, about
    0.9 mm at 0.5 m), pixels along depth discontinuities drop out (stereo occlusion), a fraction
    ``dropout`` drops out at random, and values are quantised to 1 mm as 16-bit millimetre images are.

    Args:
        depth: (H, W) float32 metres, 0 = no surface.
        rng: randomness.
        dropout: fraction of random invalid pixels.

    Returns:
        (H, W) float32 metres, 0 = invalid.
    """
    valid = depth > 0
    sigma = 0.0005 + 0.0015 * depth**2
    noisy = depth + rng.normal(size=depth.shape).astype(np.float32) * sigma
    # Depth edges: a 2-pixel band around jumps larger than 2 cm loses half its pixels.
    grad = np.maximum(np.abs(cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3)),
                      np.abs(cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3)))
    edges = cv2.dilate((grad > 0.08).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    holes = (edges & (rng.random(depth.shape) < 0.5)) | (rng.random(depth.shape) < dropout)
    out = np.round(noisy * 1000.0) / 1000.0
    out[~valid | holes] = 0.0
    return out.astype(np.float32)


def imperfect_mask(mask: np.ndarray, rng: np.random.Generator, max_px: int = 3) -> np.ndarray:
    """A detector's version of a true mask: randomly grown or shrunk by up to ``max_px`` and shifted by up to 2 px.

    Args:
        mask: (H, W) bool true object pixels.

    Returns:
        (H, W) bool.
    """
    m: np.ndarray = mask.astype(np.uint8)
    k = int(rng.integers(0, max_px + 1))
    if k:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        m = cv2.dilate(m, kernel) if rng.random() < 0.5 else cv2.erode(m, kernel)
    dx, dy = rng.integers(-2, 3, 2)
    m = np.roll(m, (int(dy), int(dx)), axis=(0, 1))
    return m > 0
