"""Synthetic RGB-D sequences with ground truth: the data of tests, the demo and the benchmark.

A :class:`SequenceSpec` fully determines a sequence (seeded), so :func:`load_or_render` can cache
the frames on disk keyed by the spec and every benchmark run sees identical data.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel, object_model_from_trimesh
from fpose_ros.core.rendering.base import Renderer
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.synthetic.assets import load_asset
from fpose_ros.core.synthetic.motion import PRESETS, exit_and_return, trajectory
from fpose_ros.core.synthetic.scene import background_plane, composite, render_layers
from fpose_ros.core.synthetic.sensor_noise import imperfect_mask, realsense_depth
from fpose_ros.core.synthetic.textures import background_image

#: Bump when rendering changes, so that caches of older renders are not reused.
CACHE_VERSION = 3
#: Fewer visible object pixels than this count as "not in view".
MIN_VISIBLE_PIXELS = 50
#: Frames composited at once (memory: ~25 MB per frame and layer at 640x480).
CHUNK_FRAMES = 32


@dataclass(frozen=True)
class SequenceSpec:
    """Everything that determines a synthetic sequence.

    Attributes:
        name: label.
        asset: object name ("proc:<seed>" or "ycb:<id>", see :mod:`.assets`).
        motion: motion preset ("static", "slow", "handheld", "fast", or "fly45" / "fly90" / "fly180":
            flying through the view while spinning at that many degrees per second).
        n_frames: number of frames.
        seed: seed of every random choice.
        width, height: image size, pixels.
        fps: frame rate, Hz.
        occluder: a bar passes in front of the object mid-sequence.
        exit_and_return: the object leaves the view for ``away_s`` seconds after the first third.
        away_s: how long the object is away, seconds.
        distractors: other objects in the scene.
        depth_m: distance of the object at the start, metres.
        mask_dropout: probability that the detector gives no mask for a frame (never the first).
    """

    name: str
    asset: str
    motion: str = "handheld"
    n_frames: int = 90
    seed: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    occluder: bool = False
    exit_and_return: bool = False
    away_s: float = 1.0
    distractors: int = 2
    depth_m: float = 0.6
    mask_dropout: float = 0.0

    def key(self) -> str:
        """A short hash of the spec, for cache file names."""
        text = repr((CACHE_VERSION, dataclasses.astuple(self)))
        return hashlib.sha1(text.encode()).hexdigest()[:12]


class SpecLike(Protocol):
    """What a sequence's users read of its spec: :class:`SequenceSpec` and other renderers' specs have it."""

    @property
    def name(self) -> str:
        """Label, the cache file's stem."""

    @property
    def asset(self) -> str:
        """Object name (see :mod:`.assets`)."""

    @property
    def width(self) -> int:
        """Image width, pixels."""

    @property
    def height(self) -> int:
        """Image height, pixels."""

    @property
    def fps(self) -> float:
        """Frame rate, Hz."""


@dataclass
class SyntheticSequence:
    """A rendered sequence.

    Attributes:
        spec: what it is.
        model: the object (centred frame; ``T_cam_obj_gt`` is for the mesh's own origin).
        camera: intrinsics of all frames.
        frames: N frames, stamps at 1 / fps.
        masks: N detector masks ((H, W) bool), None where the object is out of view.
        T_cam_obj_gt: (N, 4, 4) float64 pose of the mesh's own origin in the camera optical frame.
        visible: (N,) bool, the object shows at least :data:`MIN_VISIBLE_PIXELS` pixels.
    """

    spec: SpecLike
    model: ObjectModel
    camera: CameraIntrinsics
    frames: list[RGBDFrame]
    masks: list[np.ndarray | None]
    T_cam_obj_gt: np.ndarray
    visible: np.ndarray

    @property
    def T_cam_centered_gt(self) -> np.ndarray:
        """(N, 4, 4) ground truth for the model's centred frame."""
        return self.model.pose_for_centered(self.T_cam_obj_gt)


def d435_camera(width: int = 640, height: int = 480) -> CameraIntrinsics:
    """A RealSense D435 colour camera's intrinsics at 640x480, scaled to ``width`` x ``height``."""
    s = width / 640.0
    return CameraIntrinsics(fx=615.0 * s, fy=615.0 * s, cx=(width - 1) / 2.0,
                            cy=(height - 1) / 2.0, width=width, height=height)


def render_sequence(spec: SequenceSpec, renderer: Renderer | None = None) -> SyntheticSequence:
    """Render ``spec``: per frame, the object (and occluder) over its image box only, composited in chunks."""
    if spec.motion not in PRESETS:
        raise ValueError(f"unknown motion {spec.motion!r}; choose one of {sorted(PRESETS)}")
    draw: Renderer = renderer or TorchRasterizer()
    rng = np.random.default_rng(spec.seed)
    camera = d435_camera(spec.width, spec.height)
    model = load_asset(spec.asset)

    start = np.eye(4)
    start[:3, :3] = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
    start[:3, 3] = [rng.uniform(-0.04, 0.04), rng.uniform(-0.03, 0.03), spec.depth_m]
    T_centered = trajectory(PRESETS[spec.motion], spec.n_frames, spec.fps, start, rng)
    if spec.exit_and_return:
        T_centered = exit_and_return(T_centered, spec.fps, spec.n_frames // 3, spec.away_s)

    static = [background_plane(camera, background_image(spec.height, spec.width, rng),
                               rng.uniform(0.9, 1.3), tuple(rng.uniform(-0.3, 0.3, 2)))]
    for i in range(spec.distractors):
        other = load_asset(f"proc:{1000 + spec.seed * 7 + i}")
        T = np.eye(4)
        T[:3, :3] = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
        side = 1 if i % 2 == 0 else -1
        T[:3, 3] = [side * rng.uniform(0.2, 0.3), rng.uniform(-0.12, 0.12), spec.depth_m + rng.uniform(0.0, 0.2)]
        static.append(render_layers(draw, other, T[None], camera))
    occluder = _occluder(T_centered, model.diameter) if spec.occluder else None  # (model, poses)
    gains = 1.0 + 0.25 * np.sin(np.arange(spec.n_frames) / spec.fps * rng.uniform(0.5, 2.0) + rng.uniform(0, 6))
    tint = rng.uniform(0.9, 1.1, 3)

    frames, masks, visible = [], [], []
    # Chunks bound memory: a few full-size float layers of CHUNK_FRAMES frames at a time.
    for lo in range(0, spec.n_frames, CHUNK_FRAMES):
        hi = min(spec.n_frames, lo + CHUNK_FRAMES)
        layers = [*static, render_layers(draw, model, T_centered[lo:hi], camera)]
        if occluder is not None:
            layers.append(render_layers(draw, occluder[0], occluder[1][lo:hi], camera))
        rgb, depth, front = composite(layers)
        for j, i in enumerate(range(lo, hi)):
            light = (gains[i] * tint).astype(np.float32)
            colour = rgb[j] * light + 0.01 * rng.standard_normal(rgb[j].shape, np.float32)
            image = (np.clip(colour, 0, 1) * 255).astype(np.uint8)
            frames.append(RGBDFrame(image, realsense_depth(depth[j], rng), camera, stamp_s=i / spec.fps))
            true_mask = front[j] == len(static)
            seen = int(true_mask.sum()) >= MIN_VISIBLE_PIXELS
            visible.append(seen)
            # The first frame always has a mask: a sequence starts with a detection to register on.
            dropped = i > 0 and rng.random() < spec.mask_dropout
            masks.append(imperfect_mask(true_mask, rng) if seen and not dropped else None)
    return SyntheticSequence(spec=spec, model=model, camera=camera, frames=frames, masks=masks,
                             T_cam_obj_gt=model.pose_for_mesh_origin(T_centered), visible=np.array(visible))


def _occluder(T_object: np.ndarray, diameter: float) -> tuple[ObjectModel, np.ndarray]:
    """A vertical bar and its (N, 4, 4) poses: it sweeps across in front of the object through the middle third.

    Outside the sweep it is placed behind the camera, where nothing is drawn.
    """
    bar = trimesh.creation.box(extents=(0.35 * diameter, 0.6, 0.02))
    bar.visual = trimesh.visual.ColorVisuals(bar, vertex_colors=np.tile([90, 70, 60, 255], (len(bar.vertices), 1)))
    model = object_model_from_trimesh(bar, name="occluder", n_surface_samples=16)
    n = len(T_object)
    sweep = np.clip((np.arange(n) - n / 3) / (n / 3), 0.0, 1.0)  # 0 -> 1 over the middle third
    T = np.repeat(np.eye(4)[None], n, axis=0)
    T[:, :3, 3] = T_object[:, :3, 3]
    T[:, 0, 3] += (sweep - 0.5) * 2.5 * diameter
    T[:, 2, 3] -= 0.5 * diameter + 0.05
    T[(sweep <= 0) | (sweep >= 1), 2, 3] = -1.0
    return model, T


def load_or_render(spec: SequenceSpec, cache_dir: Path | str | None = None) -> SyntheticSequence:
    """:func:`render_sequence`, cached as ``cache_dir/<name>-<key>.npz`` (see :func:`write_cached`)."""
    if cache_dir is None:
        return render_sequence(spec)
    path = Path(cache_dir) / f"{spec.name}-{spec.key()}.npz"
    if path.is_file():
        return read_cached(path, spec)[0]
    seq = render_sequence(spec)
    write_cached(path, seq)
    return seq


def write_cached(path: Path, seq: SyntheticSequence, **extra: np.ndarray) -> None:
    """Store ``seq`` (and ``extra`` arrays) as a compressed ``.npz`` at ``path``; written aside, then renamed.

    Depth is stored in millimetres as uint16, masks as packed bits.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    blank = np.zeros(seq.frames[0].depth.shape, bool)
    tmp = path.with_suffix(".tmp.npz")
    arrays: dict[str, Any] = {
        "rgb": np.stack([f.rgb for f in seq.frames]),
        "depth_mm": np.stack([np.round(f.depth * 1000.0).astype(np.uint16) for f in seq.frames]),
        "masks": np.stack([np.packbits(blank if m is None else m) for m in seq.masks]),
        "has_mask": np.array([m is not None for m in seq.masks]),
        "T_cam_obj_gt": seq.T_cam_obj_gt,
        "visible": seq.visible,
        **extra,
    }
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def unpack_mask(bits: np.ndarray, height: int, width: int) -> np.ndarray:
    """A mask stored by :func:`write_cached` (packed bits) as (H, W) bool."""
    return np.unpackbits(bits)[: height * width].reshape(height, width).astype(bool)


def read_cached(path: Path, spec: SpecLike) -> tuple[SyntheticSequence, dict[str, np.ndarray]]:
    """The sequence :func:`write_cached` stored at ``path``, and all arrays of the file by name."""
    data = dict(np.load(path))
    camera = d435_camera(spec.width, spec.height)
    masks = [unpack_mask(m, spec.height, spec.width) if ok else None
             for m, ok in zip(data["masks"], data["has_mask"], strict=True)]
    frames = [RGBDFrame(rgb, d.astype(np.float32) / 1000.0, camera, stamp_s=i / spec.fps)
              for i, (rgb, d) in enumerate(zip(data["rgb"], data["depth_mm"], strict=True))]
    seq = SyntheticSequence(spec, load_asset(spec.asset), camera, frames, masks, data["T_cam_obj_gt"], data["visible"])
    return seq, data


def benchmark_specs() -> list[SequenceSpec]:
    """The fixed, seeded set that ``make bench`` runs: 10 sequences of 3-4 s at 30 Hz, 640x480.

    The last three fly through the view (0.1 m/s) while spinning at 45, 90 and 180 deg/s, from the
    first frame on: the object moves while it is being registered, as on a robot.
    """
    return [
        SequenceSpec("proc1_static", "proc:1", "static", seed=11),
        SequenceSpec("proc2_handheld", "proc:2", "handheld", seed=12),
        SequenceSpec("proc3_fast", "proc:3", "fast", seed=13, depth_m=0.7),
        SequenceSpec("cracker_handheld_occluded", "ycb:003_cracker_box", "handheld", seed=14, occluder=True,
                     depth_m=0.8),
        SequenceSpec("drill_handheld", "ycb:035_power_drill", "handheld", seed=15, depth_m=0.7),
        SequenceSpec("mustard_fast_occluded", "ycb:006_mustard_bottle", "fast", seed=16, occluder=True),
        SequenceSpec("proc4_exit_and_return", "proc:4", "handheld", n_frames=120, seed=17, exit_and_return=True),
        SequenceSpec("proc7_fly45", "proc:7", "fly45", seed=18),
        SequenceSpec("drill_fly90", "ycb:035_power_drill", "fly90", seed=19, depth_m=0.7),
        SequenceSpec("mustard_fly180", "ycb:006_mustard_bottle", "fly180", seed=20),
    ]


def demo_spec() -> SequenceSpec:
    """The built-in demo: 5 s of a hand-held, textured procedural object with a passing occluder."""
    return SequenceSpec("demo", "proc:5", "handheld", n_frames=150, seed=5, occluder=True)


def small_spec(**overrides: Any) -> SequenceSpec:
    """A short, quick sequence for tests (10 frames, slow motion); fields can be overridden."""
    return dataclasses.replace(SequenceSpec("small", "proc:6", "slow", n_frames=10, seed=6, distractors=1),
                               **overrides)
