"""When the benchmarks' simulated detector gives a mask: as a live detector does, not on every frame.

A live detector runs slower than the camera (masks at 10 Hz against 30 Hz frames) and finds nothing
while only a sliver of the object shows. The offline and the live benchmark both hand out masks by
this schedule, so that the engine's figures and the node's are measured on the same detections.

A box detector (``fpose-bench --boxes``) gives, on the same schedule, the box around the object's visible
pixels with each edge off by up to :data:`BOX_JITTER` of the box's size; the engine then registers from the
mask made from that box and the depth (:func:`~fpose_ros.core.box_mask.mask_from_box`), as the node does
with ``detections_2d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fpose_ros.core.box_mask import PixelBox, mask_from_box
from fpose_ros.core.errors import InputError

#: The detector runs on every this-many-th frame where the object is visible (30 Hz frames -> 10 Hz masks).
MASK_EVERY_VISIBLE_FRAMES = 3
#: The detector finds the object only while its mask covers at least this many pixels.
MIN_MASK_PIXELS = 200
#: A simulated box detector's error: each box edge is off by up to this fraction of the box's size (issue 15).
BOX_JITTER = 0.05


@dataclass(frozen=True)
class MaskTiming:
    """When the detector's masks reach the node.

    Attributes:
        name: the ``--timings`` name.
        offset_s: mask published this many seconds after its frame (negative: before it).
        every: a mask on every this-many-th visible frame (3: 10 Hz at 30 Hz frames, 10: 3 Hz).
    """

    name: str
    offset_s: float
    every: int = MASK_EVERY_VISIBLE_FRAMES


MASK_TIMINGS = (
    MaskTiming("before30ms", -0.030),
    MaskTiming("with", 0.0),
    MaskTiming("after100ms", 0.100),
    MaskTiming("after300ms", 0.300),
    MaskTiming("3hz", 0.0, every=10),
)


def detector_mask_frames(masks: Sequence[np.ndarray | None], visible: np.ndarray,
                         every: int = MASK_EVERY_VISIBLE_FRAMES, min_pixels: int = MIN_MASK_PIXELS) -> np.ndarray:
    """Which frames the detector gives a mask on.

    Args:
        masks: N per-frame detector masks ((H, W), nonzero = object) or None where there is none.
        visible: (N,) bool, the object is in view on that frame.
        every: a mask on every ``every``-th visible frame, counting from the first visible one.
        min_pixels: no mask while it covers fewer pixels than this.

    Returns:
        (N,) bool, True where the frame gets its mask.
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    visible = np.asarray(visible, dtype=bool)
    if len(masks) != len(visible):
        raise ValueError(f"{len(masks)} masks for {len(visible)} frames")
    visible_rank = np.cumsum(visible) - 1  # 0 on the first visible frame
    on_schedule = visible & (visible_rank % every == 0)
    big_enough = np.array([m is not None and int(np.count_nonzero(m)) >= min_pixels for m in masks], dtype=bool)
    return on_schedule & big_enough


def detector_masks(masks: Sequence[np.ndarray | None], visible: np.ndarray,
                   every: int = MASK_EVERY_VISIBLE_FRAMES, min_pixels: int = MIN_MASK_PIXELS
                   ) -> list[np.ndarray | None]:
    """``masks`` with None wherever :func:`detector_mask_frames` gives no mask."""
    given = detector_mask_frames(masks, visible, every, min_pixels)
    return [m if g else None for m, g in zip(masks, given, strict=True)]


def jittered_box(box: PixelBox, rng: np.random.Generator, fraction: float = BOX_JITTER) -> PixelBox:
    """``box`` with each edge moved on its own by a uniform offset within +-``fraction`` of the box's size."""
    left, right = box.center_u - 0.5 * box.width, box.center_u + 0.5 * box.width
    top, bottom = box.center_v - 0.5 * box.height, box.center_v + 0.5 * box.height
    dl, dr = rng.uniform(-fraction, fraction, 2) * box.width
    dt, db = rng.uniform(-fraction, fraction, 2) * box.height
    left, right, top, bottom = left + dl, right + dr, top + dt, bottom + db
    return PixelBox(0.5 * (left + right), 0.5 * (top + bottom), right - left, bottom - top)


def box_detector_masks(masks: Sequence[np.ndarray | None], depths: Sequence[np.ndarray], object_diameter_m: float,
                       rng: np.random.Generator, fraction: float = BOX_JITTER) -> list[np.ndarray | None]:
    """What registration gets from a box detector where ``masks`` has a mask.

    Args:
        masks: N detector masks ((H, W), nonzero = object) or None; the box is the one around each mask.
        depths: N (H, W) float32 depth images, metres.
        object_diameter_m: the object's diameter, metres.
        rng: the jitter's random numbers.
        fraction: each box edge is off by up to this fraction of the box's size.

    Returns:
        N masks made from the jittered box and the depth (None where ``masks`` has none, or the box holds no
        valid depth).
    """
    out: list[np.ndarray | None] = []
    for mask, depth in zip(masks, depths, strict=True):
        if mask is None:
            out.append(None)
            continue
        try:
            out.append(mask_from_box(depth, jittered_box(PixelBox.around(mask), rng, fraction), object_diameter_m))
        except InputError:
            out.append(None)
    return out
