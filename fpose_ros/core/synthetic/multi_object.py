"""Several known objects in one synthetic scene, with one instance label image per frame.

The scene a multi-object node sees: objects side by side on a textured background, each with its
own motion, one of them possibly taken away (pushed out of view, never returning). Each object is
rendered as its own layer and the layers z-composited, so the label image shows what occludes what.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.synthetic.assets import load_asset
from fpose_ros.core.synthetic.motion import PRESETS, exit_and_return, trajectory
from fpose_ros.core.synthetic.scene import background_plane, composite, render_layers
from fpose_ros.core.synthetic.sensor_noise import realsense_depth
from fpose_ros.core.synthetic.sequences import CHUNK_FRAMES, MIN_VISIBLE_PIXELS, d435_camera
from fpose_ros.core.synthetic.textures import background_image


@dataclass(frozen=True)
class MultiObjectSpec:
    """Everything that determines a multi-object sequence.

    Attributes:
        assets: one asset name per object (see :mod:`.assets`); object i has label i + 1.
        motions: one motion preset per object ("static", "slow", ...).
        removed_at: per object, the frame from which it is pushed out of view, or None.
        away_s: how long a removed object stays away, seconds; None: for good.
        positions_m: per object, its start position in the camera optical frame (x, y, z metres); None:
            side by side, left to right at ``spacing_m``, ``depth_m`` away (y within +-2 cm). An object
            placed nearer the camera in front of another occludes it.
        n_frames, seed, width, height, fps: as :class:`~fpose_ros.core.synthetic.sequences.SequenceSpec`.
        spacing_m: distance between neighbouring objects, left to right, metres.
        depth_m: distance of the objects from the camera, metres.
    """

    assets: tuple[str, ...]
    motions: tuple[str, ...]
    removed_at: tuple[int | None, ...]
    n_frames: int = 60
    seed: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    spacing_m: float = 0.16
    depth_m: float = 0.6
    away_s: float | None = None
    positions_m: tuple[tuple[float, float, float], ...] | None = None

    def __post_init__(self) -> None:
        if not len(self.assets) == len(self.motions) == len(self.removed_at) or not self.assets:
            raise ValueError("assets, motions and removed_at need one entry per object (at least one)")
        if self.positions_m is not None and len(self.positions_m) != len(self.assets):
            raise ValueError("positions_m needs one (x, y, z) per object")
        unknown = sorted(set(self.motions) - set(PRESETS))
        if unknown:
            raise ValueError(f"unknown motion(s) {unknown}; choose from {sorted(PRESETS)}")


@dataclass
class MultiObjectSequence:
    """A rendered multi-object sequence.

    Attributes:
        spec: what it is.
        models: the objects (centred frames), index i = label i + 1.
        camera: intrinsics of all frames.
        frames: N RGB-D frames, stamps at 1 / fps.
        labels: N (H, W) uint16 instance label images: 0 = no object, i + 1 = object i where it is seen.
        T_cam_obj_gt: (N, K, 4, 4) float64 pose of each object's mesh origin in the camera optical frame.
        visible: (N, K) bool, object k shows at least ``MIN_VISIBLE_PIXELS`` pixels in frame n.
        visible_fraction: (N, K) float64 in [0, 1]: object k's label pixels over the pixels of its own,
            unoccluded rendering in the image (0 where it is not drawn): what the other objects leave of it.
    """

    spec: MultiObjectSpec
    models: list[ObjectModel]
    camera: CameraIntrinsics
    frames: list[RGBDFrame]
    labels: list[np.ndarray]
    T_cam_obj_gt: np.ndarray
    visible: np.ndarray
    visible_fraction: np.ndarray


def render_multi_object_sequence(spec: MultiObjectSpec) -> MultiObjectSequence:
    """Render ``spec``: objects at ``positions_m`` (default left to right at ``spacing_m``), each on its own trajectory.

    A removed object slides out to the right, so the rightmost is the one to remove without it crossing the others.
    """
    rng = np.random.default_rng(spec.seed)
    camera = d435_camera(spec.width, spec.height)
    draw = TorchRasterizer()
    models = [load_asset(asset) for asset in spec.assets]
    count = len(models)
    poses = []
    for i, (motion, removed_at) in enumerate(zip(spec.motions, spec.removed_at, strict=True)):
        start = np.eye(4)
        start[:3, :3] = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
        start[:3, 3] = [(i - (count - 1) / 2) * spec.spacing_m, rng.uniform(-0.02, 0.02), spec.depth_m]
        if spec.positions_m is not None:
            start[:3, 3] = spec.positions_m[i]
        T = trajectory(PRESETS[motion], spec.n_frames, spec.fps, start, rng)
        if removed_at is not None:
            away_s = spec.n_frames / spec.fps if spec.away_s is None else spec.away_s
            T = exit_and_return(T, spec.fps, removed_at, away_s=away_s)
        poses.append(T)
    T_centered = np.stack(poses, axis=1)  # (N, K, 4, 4)
    static = background_plane(camera, background_image(spec.height, spec.width, rng), 1.1, (0.1, -0.1))

    frames, labels, visible, fraction = [], [], [], []
    for lo in range(0, spec.n_frames, CHUNK_FRAMES):
        hi = min(spec.n_frames, lo + CHUNK_FRAMES)
        layers = [static, *(render_layers(draw, model, T_centered[lo:hi, k], camera) for k, model in enumerate(models))]
        rgb, depth, front = composite(layers)  # front: 0 background, k + 1 object k
        drawn = np.stack([(layer.depth > 0).sum(axis=(1, 2)) for layer in layers[1:]], axis=1)  # (chunk, K)
        for j, i in enumerate(range(lo, hi)):
            image = (np.clip(rgb[j] + 0.01 * rng.standard_normal(rgb[j].shape, np.float32), 0, 1) * 255)
            frames.append(RGBDFrame(image.astype(np.uint8), realsense_depth(depth[j], rng), camera,
                                    stamp_s=i / spec.fps))
            label = np.clip(front[j], 0, None).astype(np.uint16)
            labels.append(label)
            shown = np.array([(label == k + 1).sum() for k in range(count)])
            visible.append(shown >= MIN_VISIBLE_PIXELS)
            fraction.append(np.divide(shown, drawn[j], out=np.zeros(count), where=drawn[j] > 0))
    T_cam_obj = np.stack([models[k].pose_for_mesh_origin(T_centered[:, k]) for k in range(count)], axis=1)
    return MultiObjectSequence(spec, models, camera, frames, labels, T_cam_obj, np.array(visible),
                               np.array(fraction))
