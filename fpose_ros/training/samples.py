"""Training samples for the refiner and the scorer, drawn from randomized synthetic scenes.

A scene is one object at a random pose and distance in front of a random textured, tilted background plane,
optionally up to half hidden by an occluder (another procedural object), seen by a random pinhole camera, with
RealSense-like depth noise and a random colour gain (lighting). From one scene we cut:

* refiner pairs (FoundationPose's recipe): the true pose perturbed by a camera-frame rotation of at most
  ``rot_normalizer`` and a translation of at most ``trans_normalizer`` per axis; the target is the network
  output that :func:`fpose_ros.core.nets.pose_update.decode_refiner_output` turns back into the correction:
  ``trans = (t_gt - t_in) / radius`` and ``tanh(rot) = w / rot_normalizer`` where ``R_in = exp(w) R_gt``.
* scorer groups: ``group_size`` hypotheses, one positive (within ``positive_max_deg`` of the truth) at a random
  index, the others negatives (at least ``negative_min_deg`` away).

Every input is a pose-conditioned crop (rendering at the hypothesis vs. the observed image, same window) in
the networks' 6-channel layout, cut by the same code as at inference (:func:`fpose_ros.core.nets.pair_inputs.
make_pairs`) from an observation preprocessed as at inference (depth clean-up included).
Frames: OpenCV optical camera frame, ``T_cam_centered`` of the centred object frame; metres, radians.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.mesh_simplification import simplify_for_rendering
from fpose_ros.core.nets.config import INPUT_SIZE_RANGE
from fpose_ros.core.nets.pair_inputs import make_pairs
from fpose_ros.core.nets.pose_update import REFINER_MIN_Z_M, SCORER_MIN_Z_M
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation, observation_from_frame
from fpose_ros.core.rendering.base import MeshTensors, Renderer
from fpose_ros.core.rendering.factory import create_renderer
from fpose_ros.core.synthetic.assets import asset_names, load_asset
from fpose_ros.core.synthetic.scene import background_plane, composite, render_layers
from fpose_ros.core.synthetic.sensor_noise import realsense_depth
from fpose_ros.core.synthetic.textures import background_image
from fpose_ros.core.transforms import make_transform, so3_exp
from fpose_ros.core.validated_config import param, validate

#: (min, max) factor on the perturbation bounds of the ``fine_fraction`` of refiner pairs.
FINE_SCALE = (0.1, 0.4)

#: An occluder that would leave less than this fraction of the object's pixels visible is left out: a mostly hidden
#: object gives the refiner nothing to correct from, as a training target or as an evaluation case.
MIN_VISIBLE_FRACTION = 0.5

#: Triangles kept for rendering training crops (speed; sub-millimetre error for hand-sized objects).
RENDER_MAX_FACES = 5_000


def _positive_triple(value: tuple[float, ...]) -> str | None:
    ok = len(value) == 3 and all(isinstance(v, int | float) and v > 0 for v in value)
    return None if ok else "must be 3 positive numbers"


def _increasing_positive_pair(value: tuple[float, ...]) -> str | None:
    ok = len(value) == 2 and all(isinstance(v, int | float) for v in value) and 0 < value[0] < value[1]
    return None if ok else "must be (min, max) with 0 < min < max"


def _multiple_of_8(value: int) -> str | None:
    return None if value % 8 == 0 else "must be a multiple of 8"


@dataclass(frozen=True)
class SampleConfig:
    """How samples are drawn (each field's meaning and range: its ``param``; defaults = the released recipe)."""

    width: int = param(640, "Full image width, pixels.", range=(32, None), unit="pixels")
    height: int = param(480, "Full image height, pixels.", range=(32, None), unit="pixels")
    crop_size: int = param(160, "Crop side, pixels (160 for the released network layout), a multiple of 8.",
                           range=INPUT_SIZE_RANGE, unit="pixels", check=_multiple_of_8)
    refine_crop_ratio: float = param(1.2, "Refiner crop window radius / object radius (1.2 as released).",
                                     range=(0, None), low_open=True)
    score_crop_ratio: float = param(1.1, "Scorer crop window radius / object radius (1.1 as released).",
                                    range=(0, None), low_open=True)
    rot_normalizer: float = param(math.radians(20.0), "Largest refiner perturbation angle, radians (20 deg as "
                                  "released).", range=(0, math.pi), low_open=True, unit="radians")
    trans_normalizer: tuple[float, float, float] = param(
        (0.02, 0.02, 0.05), "Largest refiner perturbation per camera axis, metres ((0.02, 0.02, 0.05) as released).",
        check=_positive_triple)
    pairs_per_scene: int = param(4, "Refiner pairs cut from one scene.", range=(1, None))
    group_size: int = param(8, "Scorer hypotheses per group (one positive).", range=(2, None))
    positive_max_deg: float = param(10.0, "Largest rotation error of a scorer positive, degrees.",
                                    range=(0, 180), low_open=True, unit="degrees")
    negative_min_deg: float = param(20.0, "Smallest rotation error of a scorer negative, degrees (above "
                                    "positive_max_deg).", range=(0, 180), low_open=True, unit="degrees")
    distance_m: tuple[float, float] = param((0.4, 1.0), "(min, max) object distance from the camera, metres.",
                                            check=_increasing_positive_pair)
    occluder_probability: float = param(0.5, "Chance that a scene has an occluder.", range=(0, 1))
    fine_fraction: float = param(0.0, "Fraction of refiner pairs whose perturbation bounds are scaled by a factor "
                                 "drawn in FINE_SCALE: the errors a second refinement step starts from (0 = the "
                                 "released recipe).", range=(0, 1))

    def __post_init__(self) -> None:
        validate(self, lambda c: [("negative_min_deg", c.positive_max_deg < c.negative_min_deg,
                                   "must be larger than positive_max_deg")])


#: The CPU variant (``--small``): 64 px crops for the narrow networks, 12 refiner pairs per scene (crops cost little
#: next to a scene, and varied perturbations are what the refiner learns from), 4 hypotheses per group. Frames keep
#: the camera's 640 x 480: in quarter-size frames a 10 cm object at 1 m spans 30 px, and that, not the crop, set the
#: refiner's precision on small objects.
SMALL_CONFIG = SampleConfig(crop_size=64, pairs_per_scene=12, group_size=4)


@dataclass(frozen=True)
class Scene:
    """One observed frame with its truth.

    Attributes:
        name: asset name of the object.
        model: the object (centred frame).
        observation: the noisy frame, preprocessed as the engine does (no mask).
        T_cam_centered: (4, 4) float32 true pose.
        visible_fraction: fraction of the object's pixels that no occluder hides, in
            [:data:`MIN_VISIBLE_FRACTION`, 1].
    """

    name: str
    model: ObjectModel
    observation: Observation
    T_cam_centered: torch.Tensor
    visible_fraction: float


@dataclass(frozen=True)
class RefinerPairs:
    """N refiner training pairs.

    Attributes:
        A: (N, 6, S, S) float32 renderings at the perturbed poses (network input 1).
        B: (N, 6, S, S) float32 observed crops (network input 2).
        trans_target: (N, 3) float32 translation target, object radii.
        rot_target: (N, 3) float32 target of ``tanh(rot_out)``, in (-1, 1).
        T_in: (N, 4, 4) float32 perturbed poses; T_gt: (N, 4, 4) float32 true poses.
    """

    A: torch.Tensor
    B: torch.Tensor
    trans_target: torch.Tensor
    rot_target: torch.Tensor
    T_in: torch.Tensor
    T_gt: torch.Tensor


@dataclass(frozen=True)
class ScorerGroups:
    """G scorer groups of L hypotheses.

    Attributes:
        A: (G, L, 6, S, S) float32 renderings at the hypotheses.
        B: (G, L, 6, S, S) float32 observed crops.
        positive: (G,) int64 index of the positive hypothesis of each group.
    """

    A: torch.Tensor
    B: torch.Tensor
    positive: torch.Tensor


@functools.lru_cache(maxsize=256)
def _render_mesh(name: str) -> tuple[ObjectModel, ObjectModel, MeshTensors]:
    """(full model, model decimated for rendering, its tensors) of an asset; decimated once per process."""
    model = load_asset(name)
    render_model = simplify_for_rendering(model, RENDER_MAX_FACES)
    return model, render_model, MeshTensors.from_object_model(render_model)


def random_rotations(n: int, rng: np.random.Generator, min_angle: float, max_angle: float) -> torch.Tensor:
    """(n, 3) float32 axis-angle vectors: uniform random axes, angles uniform in [min_angle, max_angle] radians."""
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = rng.uniform(min_angle, max_angle, size=(n, 1))
    return torch.as_tensor(axes * angles, dtype=torch.float32)


def random_scene(split: str, rng: np.random.Generator, config: SampleConfig,
                 renderer: Renderer | None = None) -> Scene:
    """Draw a random object of ``split`` ("train" or "heldout") and render one randomized frame of it.

    Cost: a few object-sized renderings plus O(H * W) compositing, noise and depth clean-up.
    """
    renderer = renderer or create_renderer()
    names = asset_names(split)
    name = names[int(rng.integers(len(names)))]
    model, render_model, _ = _render_mesh(name)
    W, H = config.width, config.height
    f = rng.uniform(0.85, 1.15) * 600.0 * W / 640.0
    camera = CameraIntrinsics(fx=f, fy=f * rng.uniform(0.98, 1.02), cx=W / 2 + rng.uniform(-0.03, 0.03) * W,
                              cy=H / 2 + rng.uniform(-0.03, 0.03) * H, width=W, height=H)
    z = rng.uniform(*config.distance_m)
    # Keep the object's centre inside the middle 70 % of the image.
    u, v = rng.uniform(0.15, 0.85) * W, rng.uniform(0.15, 0.85) * H
    t = np.array([(u - camera.cx) / camera.fx * z, (v - camera.cy) / camera.fy * z, z])
    R = so3_exp(random_rotations(1, rng, 0.0, math.pi))[0].double().numpy()
    T = make_transform(torch.as_tensor(R), torch.as_tensor(t)).numpy()[None]
    layers = [render_layers(renderer, render_model, T, camera, max_faces=RENDER_MAX_FACES)]
    if rng.random() < config.occluder_probability:
        occluder = _render_mesh(f"proc:{int(rng.integers(100, 160))}")[1]
        # Between the camera and the object, shifted sideways by about one object radius.
        zo = z - model.diameter - occluder.diameter * 0.5 - rng.uniform(0.02, 0.1)
        shift = rng.uniform(0.5, 1.2) * model.radius * rng.choice([-1.0, 1.0], size=2)
        to = np.array([t[0] * zo / z + shift[0], t[1] * zo / z + shift[1], max(zo, 0.15)])
        Ro = so3_exp(random_rotations(1, rng, 0.0, math.pi))[0].double().numpy()
        To = make_transform(torch.as_tensor(Ro), torch.as_tensor(to)).numpy()[None]
        layers.append(render_layers(renderer, occluder, To, camera, max_faces=RENDER_MAX_FACES))
    tilt = (float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.4, 0.4)))
    background = background_plane(camera, background_image(H, W, rng), z + model.diameter + rng.uniform(0.05, 0.5),
                                  tilt)
    object_pixels = max(1, int((layers[0].depth[0] > 0).sum()))
    rgb, depth, front = composite([*layers, background])
    if len(layers) > 1 and (front[0] == 0).sum() < MIN_VISIBLE_FRACTION * object_pixels:
        rgb, depth, front = composite([layers[0], background])
    visible = float((front[0] == 0).sum()) / object_pixels
    gain = rng.uniform(0.6, 1.3, size=3).astype(np.float32)  # light colour and intensity
    rgb = np.clip(rgb[0] * gain + rng.normal(0.0, 0.01, rgb[0].shape).astype(np.float32), 0.0, 1.0)
    frame = RGBDFrame(rgb=np.round(rgb * 255.0).astype(np.uint8), depth=realsense_depth(depth[0], rng),
                      intrinsics=camera)
    return Scene(name=name, model=model, observation=observation_from_frame(frame, None),
                 T_cam_centered=torch.as_tensor(T[0], dtype=torch.float32), visible_fraction=visible)


def crop_inputs(scene: Scene, T_hyp: torch.Tensor, crop_ratio: float, crop_size: int, min_z: float,
                renderer: Renderer | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs of N hypotheses: rendering at each and the observed crop of the same window.

    Args:
        scene: the observed frame.
        T_hyp: (N, 4, 4) float32 hypotheses.
        crop_ratio: window radius / object radius.
        crop_size: crop side S, pixels.
        min_z: empty-pixel depth threshold (REFINER_MIN_Z_M or SCORER_MIN_Z_M).

    Returns:
        A, B: (N, 6, S, S) float32 (see :func:`make_pairs`). O(N * S^2) plus one render batch.
    """
    with torch.inference_mode():
        return make_pairs(renderer or create_renderer(), _render_mesh(scene.name)[2], scene.observation, T_hyp,
                          scene.model.diameter, crop_ratio, min_z, crop_size)


def perturb_poses(T_gt: torch.Tensor, rng: np.random.Generator, config: SampleConfig
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Refiner perturbations of (N, 4, 4) true poses and the targets that undo them.

    Returns:
        T_in (N, 4, 4) float32; the translation correction ``t_gt - t_in`` (N, 3) in metres (divide by the
        object radius for the network target); rot_target (N, 3) = w / rot_normalizer where ``R_in = exp(w) R_gt``.
    """
    n = len(T_gt)
    w = random_rotations(n, rng, 0.0, config.rot_normalizer)
    dt = torch.as_tensor(rng.uniform(-1.0, 1.0, (n, 3)) * np.asarray(config.trans_normalizer), dtype=torch.float32)
    if config.fine_fraction > 0:  # drawn only then: the released recipe's random stream stays as it was
        fine = rng.random(n) < config.fine_fraction
        scale = torch.as_tensor(np.where(fine, rng.uniform(*FINE_SCALE, n), 1.0)[:, None], dtype=torch.float32)
        w, dt = w * scale, dt * scale
    T_in = make_transform(so3_exp(w) @ T_gt[:, :3, :3], T_gt[:, :3, 3] + dt)
    return T_in, -dt, w / config.rot_normalizer


def refiner_pairs(scene: Scene, rng: np.random.Generator, config: SampleConfig,
                  renderer: Renderer | None = None) -> RefinerPairs:
    """``config.pairs_per_scene`` refiner pairs from one scene (see module docstring for the targets)."""
    T_gt = scene.T_cam_centered[None].repeat(config.pairs_per_scene, 1, 1)
    T_in, dt, rot_target = perturb_poses(T_gt, rng, config)
    A, B = crop_inputs(scene, T_in, config.refine_crop_ratio, config.crop_size, REFINER_MIN_Z_M, renderer)
    return RefinerPairs(A=A, B=B, trans_target=dt / scene.model.radius, rot_target=rot_target, T_in=T_in, T_gt=T_gt)


def scorer_group(scene: Scene, rng: np.random.Generator, config: SampleConfig,
                 renderer: Renderer | None = None) -> ScorerGroups:
    """One scorer group (G = 1) from one scene: one positive at a random index, ``group_size - 1`` negatives."""
    L = config.group_size
    positive = int(rng.integers(L))
    w = random_rotations(L, rng, math.radians(config.negative_min_deg), math.pi)
    w[positive] = random_rotations(1, rng, 0.0, math.radians(config.positive_max_deg))[0]
    # Translations jitter within a quarter of the refiner's range: the scorer sees refined hypotheses.
    dt = torch.as_tensor(rng.uniform(-0.25, 0.25, (L, 3)) * np.asarray(config.trans_normalizer), dtype=torch.float32)
    T_gt = scene.T_cam_centered[None].expand(L, 4, 4)
    T_hyp = make_transform(so3_exp(w) @ T_gt[:, :3, :3], T_gt[:, :3, 3] + dt)
    A, B = crop_inputs(scene, T_hyp, config.score_crop_ratio, config.crop_size, SCORER_MIN_Z_M, renderer)
    return ScorerGroups(A=A[None], B=B[None], positive=torch.tensor([positive]))
