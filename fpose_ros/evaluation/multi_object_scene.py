"""The multi-object benchmark sequence (issue 15): three objects in one scene, masks as one label image.

640x480 at 30 Hz for 5 s, drawn by the engine's renderer (:mod:`fpose_ros.core.synthetic.multi_object`):

* ``resting`` (label 1) stands still on the left, 0.7 m away;
* ``handled`` (label 2) is held by a hand (the ``handheld`` motion) 0.5 m away, in front of and between
  the other two: it hides part of each of them now and then (mutual occlusion, the labels show what is in front);
* ``leaving`` (label 3) moves slowly on the right, is pushed out of the image at frame 50 and comes back
  after 1 s.

The detector's label image follows the one-object protocol per object
(:func:`~fpose_ros.evaluation.detector_masks.detector_mask_frames`): an object's label is in it on every
3rd frame where the object shows (10 Hz), only while it covers at least 200 pixels; a frame's label image
holds the labels due on it (none due: no label image). The sequence renders once and is cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.synthetic.assets import load_asset
from fpose_ros.core.synthetic.multi_object import MultiObjectSequence, MultiObjectSpec, render_multi_object_sequence
from fpose_ros.core.synthetic.sequences import d435_camera
from fpose_ros.evaluation.detector_masks import MASK_EVERY_VISIBLE_FRAMES, detector_mask_frames

#: Bump when the scene or its rendering changes, so that cached renders are not reused.
CACHE_VERSION = 1


@dataclass(frozen=True)
class MultiObjectBenchmark:
    """A named multi-object sequence and its objects' names (object k: ``names[k]``, label k + 1)."""

    name: str
    names: tuple[str, ...]
    spec: MultiObjectSpec

    def key(self) -> str:
        """A short hash of everything that determines the rendering, for the cache file's name."""
        text = repr((CACHE_VERSION, dataclasses.astuple(self.spec)))
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def multi_object_benchmark() -> MultiObjectBenchmark:
    """The benchmark's three-object sequence (module docstring); seed 7 puts the hand's object over both others."""
    spec = MultiObjectSpec(assets=("proc:21", "proc:23", "proc:22"), motions=("static", "handheld", "slow"),
                           removed_at=(None, None, 50), n_frames=150, seed=7, away_s=1.0,
                           positions_m=((-0.11, 0.02, 0.70), (0.0, -0.01, 0.50), (0.17, 0.0, 0.70)))
    return MultiObjectBenchmark("multi3_rest_hand_leave", ("resting", "handled", "leaving"), spec)


def load_or_render_multi_object(bench: MultiObjectBenchmark, cache_dir: Path | str | None = None
                                ) -> MultiObjectSequence:
    """Render ``bench``'s sequence, or load it from ``cache_dir/<name>-<key>.npz`` (written after a render)."""
    if cache_dir is None:
        return render_multi_object_sequence(bench.spec)
    path = Path(cache_dir) / f"{bench.name}-{bench.key()}.npz"
    if path.is_file():
        return _read(path, bench.spec)
    seq = render_multi_object_sequence(bench.spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, rgb=np.stack([f.rgb for f in seq.frames]),
                        depth_mm=np.stack([np.round(f.depth * 1000.0).astype(np.uint16) for f in seq.frames]),
                        labels=np.stack(seq.labels), T_cam_obj_gt=seq.T_cam_obj_gt, visible=seq.visible,
                        visible_fraction=seq.visible_fraction)
    tmp.replace(path)
    return seq


def _read(path: Path, spec: MultiObjectSpec) -> MultiObjectSequence:
    """A sequence stored by :func:`load_or_render_multi_object` (depth in millimetres)."""
    data = np.load(path)
    camera = d435_camera(spec.width, spec.height)
    frames = [RGBDFrame(rgb, depth.astype(np.float32) / 1000.0, camera, stamp_s=i / spec.fps)
              for i, (rgb, depth) in enumerate(zip(data["rgb"], data["depth_mm"], strict=True))]
    return MultiObjectSequence(spec, [load_asset(a) for a in spec.assets], camera, frames, list(data["labels"]),
                               data["T_cam_obj_gt"], data["visible"], data["visible_fraction"])


def detector_label_images(labels: list[np.ndarray], visible: np.ndarray, every: int = MASK_EVERY_VISIBLE_FRAMES
                          ) -> tuple[list[np.ndarray | None], np.ndarray]:
    """What the detector publishes: per frame one label image with the labels due on it, or None.

    Args:
        labels: N (H, W) instance label images (0: none, k + 1: object k).
        visible: (N, K) bool, object k in view on frame n.
        every: each object's label on every ``every``-th frame where it shows (module docstring).

    Returns:
        The N label images (same dtype; labels not due on a frame set to 0), and (N, K) bool: object k's
        label is in frame n's image.
    """
    count = visible.shape[1]
    given = np.stack([detector_mask_frames([lab == k + 1 for lab in labels], visible[:, k], every)
                      for k in range(count)], axis=1)
    images: list[np.ndarray | None] = []
    for label, due in zip(labels, given, strict=True):
        if not due.any():
            images.append(None)
            continue
        keep = np.concatenate([[False], due])  # index by label value: 0 (background) never kept
        images.append(np.where(keep[np.clip(label, 0, count)], label, 0).astype(label.dtype))
    return images, given
