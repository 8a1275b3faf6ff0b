"""One synchronized RGB-D observation, validated at the engine's boundary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import InputError


@dataclass(frozen=True)
class RGBDFrame:
    """A colour image and a depth image registered to it.

    Attributes:
        rgb: (H, W, 3) uint8, RGB order.
        depth: (H, W) float32 metres along the optical axis; 0 or NaN = invalid.
        intrinsics: camera model of both images (same size as the images).
        stamp_s: acquisition time in seconds (any monotonic-ish clock).
    """

    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    stamp_s: float = 0.0

    def __post_init__(self) -> None:
        validate_frame(self.rgb, self.depth, self.intrinsics)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of both images."""
        return self.depth.shape


def validate_frame(rgb: np.ndarray, depth: np.ndarray, intrinsics: CameraIntrinsics) -> None:
    """Raise :class:`InputError` naming the problem when a frame is unusable."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"rgb must be an (H, W, 3) uint8 array, got {getattr(rgb, 'shape', None)} "
                         f"{getattr(rgb, 'dtype', type(rgb).__name__)}")
    if not isinstance(depth, np.ndarray) or depth.ndim != 2 or depth.dtype != np.float32:
        raise InputError(f"depth must be an (H, W) float32 array in metres, got {getattr(depth, 'shape', None)} "
                         f"{getattr(depth, 'dtype', type(depth).__name__)}")
    if rgb.shape[:2] != depth.shape:
        raise InputError(f"rgb {rgb.shape[:2]} and depth {depth.shape} sizes differ; depth must be registered "
                         "to the colour image (RealSense: align_depth.enable:=true)")
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise InputError(f"image size {depth.shape[1]}x{depth.shape[0]} differs from the camera model's "
                         f"{intrinsics.width}x{intrinsics.height}")


def validate_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return ``mask`` as an (H, W) bool array, or raise :class:`InputError`.

    Args:
        mask: (H, W) array, nonzero = object.
        shape: (H, W) of the frame the mask belongs to.
    """
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise InputError(f"mask must be an (H, W) array, got {getattr(mask, 'shape', None)}")
    if mask.shape != tuple(shape):
        raise InputError(f"mask size {mask.shape[1]}x{mask.shape[0]} differs from the frame's {shape[1]}x{shape[0]}")
    return mask != 0
