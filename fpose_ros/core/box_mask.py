"""A registration mask from a detector's 2D box and the depth inside it.

Detectors (YOLO-style) give a box, not a mask. The engine registers from a mask: it sets the initial
translation from it and keeps its refinement and scoring to the pixels in it, so a mask that also
holds the table or the wall behind the object pulls the pose away. :func:`mask_from_box` keeps, inside
the box, the depth pixels that can be the object's surface: within one object radius of the depth
at the box centre (where a detector's box has its object), and of those the largest connected region
(a background patch at the same depth elsewhere in the box is not the object).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fpose_ros.core.errors import InputError

#: Fewest valid depth pixels in the box's centre part to take the object's depth from there (else: the whole box).
MIN_CENTRE_PIXELS = 16
#: The centre part of the box whose median depth is the object's: this fraction of its width and height.
CENTRE_FRACTION = 0.5


@dataclass(frozen=True)
class PixelBox:
    """An axis-aligned box in an image, pixels (u right, v down; pixel centres at integer coordinates).

    Attributes:
        center_u, center_v: the box centre, pixels.
        width, height: the box size, pixels, > 0.
    """

    center_u: float
    center_v: float
    width: float
    height: float

    def __post_init__(self) -> None:
        values = (self.center_u, self.center_v, self.width, self.height)
        if not all(math.isfinite(v) for v in values) or self.width <= 0 or self.height <= 0:
            raise InputError(f"a box needs a finite centre and a positive size, got centre ({self.center_u}, "
                             f"{self.center_v}) size {self.width} x {self.height} pixels")

    @classmethod
    def around(cls, mask: np.ndarray) -> PixelBox:
        """The tightest box holding every nonzero pixel of an (H, W) mask; InputError when it has none."""
        rows = np.flatnonzero(np.asarray(mask).any(axis=1))
        cols = np.flatnonzero(np.asarray(mask).any(axis=0))
        if rows.size == 0:
            raise InputError("the mask is empty: no box around it")
        # Pixel centres at integers: pixels u0..u1 span [u0 - 0.5, u1 + 0.5].
        return cls(center_u=0.5 * (cols[0] + cols[-1]), center_v=0.5 * (rows[0] + rows[-1]),
                   width=float(cols[-1] - cols[0] + 1), height=float(rows[-1] - rows[0] + 1))

    def scaled(self, fraction: float) -> PixelBox:
        """The box with the same centre and ``fraction`` of its width and height."""
        return PixelBox(self.center_u, self.center_v, self.width * fraction, self.height * fraction)

    def pixel_bounds(self, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """``(u0, v0, u1, v1)``, ends exclusive: the pixels of an (H, W) image whose centres lie in the box.

        None when no pixel centre of the image lies in it.
        """
        height, width = shape
        u0 = max(math.ceil(self.center_u - 0.5 * self.width), 0)
        v0 = max(math.ceil(self.center_v - 0.5 * self.height), 0)
        u1 = min(math.floor(self.center_u + 0.5 * self.width) + 1, width)
        v1 = min(math.floor(self.center_v + 0.5 * self.height) + 1, height)
        return (u0, v0, u1, v1) if u0 < u1 and v0 < v1 else None


def mask_from_box(depth: np.ndarray, box: PixelBox, object_diameter_m: float) -> np.ndarray:
    """The object's pixels inside ``box``, told apart from what is behind or in front of it by depth.

    The object's depth is the median valid depth of the box's centre part (:data:`CENTRE_FRACTION` of its
    size; the whole box when that part holds fewer than :data:`MIN_CENTRE_PIXELS` valid pixels). Kept are the
    box's pixels with valid depth within half ``object_diameter_m`` of it, and of those the largest
    8-connected region.

    Args:
        depth: (H, W) float32 metres; 0 or NaN = invalid.
        box: the detector's box.
        object_diameter_m: the object's diameter (largest distance between two of its vertices), metres.

    Returns:
        (H, W) bool, True on the object's pixels; at least one pixel is set.

    Raises:
        InputError: the box lies outside the image, or holds no valid depth.
    """
    if depth.ndim != 2:
        raise InputError(f"depth must be (H, W), got shape {depth.shape}")
    bounds = box.pixel_bounds(depth.shape)
    if bounds is None:
        raise InputError(f"the box (centre ({box.center_u:.1f}, {box.center_v:.1f}), {box.width:.1f} x "
                         f"{box.height:.1f} px) lies outside the {depth.shape[1]}x{depth.shape[0]} image")
    u0, v0, u1, v1 = bounds
    inside = depth[v0:v1, u0:u1]
    valid = np.isfinite(inside) & (inside > 0)
    if not valid.any():
        raise InputError("the box holds no valid depth: nothing to tell the object from its background")
    centre = valid & _centre_part(box, bounds, valid.shape)
    object_depth = float(np.median(inside[centre if np.count_nonzero(centre) >= MIN_CENTRE_PIXELS else valid]))
    near = valid & (np.abs(np.where(valid, inside, 0.0) - object_depth) <= 0.5 * object_diameter_m)
    labels, count = ndimage.label(near, structure=np.ones((3, 3), dtype=bool))
    mask = np.zeros(depth.shape, dtype=bool)
    if count:  # the centre depth comes from valid pixels: at least one lies within the band
        sizes = np.bincount(labels.ravel())[1:]
        mask[v0:v1, u0:u1] = labels == 1 + int(np.argmax(sizes))
    return mask


def _centre_part(box: PixelBox, bounds: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """(h, w) bool over the box's pixels (``bounds``): True in its centre part."""
    u0, v0, _, _ = bounds
    part = np.zeros(shape, dtype=bool)
    centre = box.scaled(CENTRE_FRACTION).pixel_bounds((v0 + shape[0], u0 + shape[1]))
    if centre is not None:
        cu0, cv0, cu1, cv1 = centre
        part[max(cv0 - v0, 0):max(cv1 - v0, 0), max(cu0 - u0, 0):max(cu1 - u0, 0)] = True
    return part

