"""The pose engine's API: register an object from a mask, then track it frame to frame.

Registration (FoundationPose's pipeline, made coarse-to-fine for a CPU): 42 icosphere viewpoints x 6
in-plane angles = 252 rotations, all at the translation guessed from the mask and the median masked
depth; every hypothesis is refined by render-and-compare on a small crop and scored; the best
``top_k`` are refined further on a larger crop and scored again; the best one wins if its score
clears ``min_register_score``. Tracking refines the previous pose only (one render, or none while
the view is close to the last rendering's, then a few Gauss-Newton steps) and scores it on the same
rendered surface,
so that :class:`~fpose_ros.core.tracking_state.ObjectTracker` can detect loss.

Frame and mask problems never raise out of :meth:`PoseEstimator.register` / :meth:`PoseEstimator.track`:
they return a "no pose" :class:`PoseResult` whose ``reason`` says what was wrong.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from fpose_ros.core.appearance import APPEARANCE_METHODS
from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import InputError
from fpose_ros.core.frame import RGBDFrame, validate_mask
from fpose_ros.core.hypotheses import IcosphereHypotheses, hypothesis_poses, initial_translation
from fpose_ros.core.mesh_simplification import is_closed_and_oriented, simplify_for_rendering
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation, observation_from_frame
from fpose_ros.core.pose_conditioned_crop import crop_affine
from fpose_ros.core.pose_result import PoseResult, StageTimings, TrackingMode
from fpose_ros.core.refinement.base import Refiner, SurfaceSharingRefiner
from fpose_ros.core.refinement.geometric import GeometricRefiner, GeometricRefinerConfig, least_constrained_translation
from fpose_ros.core.rendering.base import MeshTensors, Renderer
from fpose_ros.core.rendering.factory import BACKENDS, create_renderer
from fpose_ros.core.rendering.visible_surface import VisibleSurface
from fpose_ros.core.scoring.base import DetailedScorer, Scorer
from fpose_ros.core.scoring.geometric import GeometricScorer, GeometricScorerConfig, ScoreDetails
from fpose_ros.core.shape_symmetry import revolution_axis
from fpose_ros.core.surface_keyframe import KeyframeConfig, SurfaceKeyframe
from fpose_ros.core.symmetry import prune_equivalent
from fpose_ros.core.transforms import make_transform, so3_exp
from fpose_ros.core.validated_config import param, validate


def _torch_device(value: str) -> str | None:
    try:
        torch.device(value)
    except (RuntimeError, TypeError) as exc:
        return f"is not a torch device ({exc})"
    return None


@dataclass(frozen=True)
class EstimatorConfig:
    """Settings of :class:`PoseEstimator` (each field's meaning and range: its ``param``).

    The node declares them as ``engine.*`` parameters from the same metadata.
    """

    device: str = param("cpu", "Torch device of the engine (cpu, cuda, cuda:1, ...).", check=_torch_device)
    min_depth: float = param(0.1, "Depth readings nearer than this are invalid, metres.", range=(0, None),
                             unit="metres")
    max_depth: float = param(4.0, "Depth readings farther than this are invalid, metres (above min_depth).",
                             range=(0, None), low_open=True, unit="metres")
    # Off for the geometric pipeline: the erosion (1 mm over a 5x5 window) deletes surfaces inclined more
    # than ~30 deg to the camera, whose points constrain ICP, and the filter blurs creases (about 1 deg /
    # 2 mm of bias on boxes) and costs 10-25 ms per frame; the refiner's robust weights and the scorer's
    # outline handling already ignore flying pixels.
    clean_depth: bool = param(False, "Run FoundationPose's depth erosion and hole filling on the object's region "
                                     "(off by default: it biases ICP on inclined faces).")
    min_views: int = param(40, "Icosphere viewpoints of the registration hypotheses (at least this many: 40 "
                               "gives 42).", range=(1, 642))
    inplane_step_deg: float = param(60.0, "Step of the hypotheses' in-plane rotations, degrees (60 gives 6).",
                                    range=(0, 360), low_open=True, unit="degrees")
    crop_ratio: float = param(1.2, "Refinement crop window radius / object radius.", range=(0.5, 4))
    # 20 px and 2 iterations: 0.54x the CPU time of 32 px and 3 iterations, the same 112 of 112 registration
    # trials right (14 sequences, 1 thread, 2-core EPYC, 2026-12-03); 16 px loses trials.
    coarse_crop_size: int = param(20, "Crop side of the first registration pass over all hypotheses, pixels.",
                                  range=(8, 512), unit="pixels")
    coarse_iterations: int = param(1, "Render-and-compare iterations of the first registration pass.",
                                   range=(0, 50))
    coarse_steps: int = param(4, "Gauss-Newton steps on each rendering of the first pass.", range=(1, 50))
    top_k: int = param(8, "Hypotheses kept after the first pass for full refinement.", range=(1, 10_000))
    fine_crop_size: int = param(64, "Crop side of full refinement (registration and tracking), pixels.",
                                range=(8, 512), unit="pixels")
    register_iterations: int = param(2, "Render-and-compare iterations of full refinement at registration.",
                                     range=(1, 50))
    register_steps: int = param(3, "Gauss-Newton steps on each rendering of full refinement.", range=(1, 50))
    track_iterations: int = param(1, "Render-and-compare iterations per tracked frame.", range=(1, 50))
    # The rendered surface is reused while the pose moves a little, so a step costs a fraction of a render.
    track_steps: int = param(5, "Gauss-Newton steps on each tracking render (at most).", range=(1, 50))
    keyframe_view_change_deg: float = param(
        4.0, "Tracking with a surface-sharing refiner reuses the last rendering while the camera, seen from the "
             "object, has turned less than this (and its distance changed less than 5 %), degrees; 0 renders "
             "every tracked frame.", range=(0, 30), unit="degrees")
    track_converged_m: float = param(
        0.0005, "A tracking step that moves the object less than this (any point within its radius), metres, ends "
                "the frame's refinement with one step at the final inlier distance; 0 runs all track_steps.",
        range=(0, 0.01), unit="metres")
    score_crop_size: int = param(48, "Crop side of scoring, pixels.", range=(8, 512), unit="pixels")
    # The renderer's face_budget: RAY_CAST_FACE_BUDGET for the Embree ray caster, whose cost hardly grows with
    # the triangle count, RASTER_FACE_BUDGET for rasterisers, whose cost grows as B x F. Decimation moves the
    # surface by millimetres (up to ~1 cm on a 22 cm object at 3000 faces), which biases tracking.
    max_render_faces: int = param(0, "The mesh is simplified to at most this many triangles for rendering; 0 = the "
                                     "renderer's face budget.", range=(100, 10_000_000), also=(0,))
    coarse_render_faces: int = param(0, "Triangle budget of the first pass over all hypotheses; 0 = the "
                                        "renderer's face budget.", range=(100, 10_000_000), also=(0,))
    appearance: str = param("colour", "Appearance measure of scoring and of the turn search "
                                        "(fpose_ros.core.appearance, compared in docs/appearance.md): colour, "
                                        "channel or gradient.",
                            choices=APPEARANCE_METHODS)
    spin_finalists: int = param(3, "Registration's best refined hypotheses whose turns about the shape's axis of "
                                   "revolution (a can's, a bottle's) are searched by appearance; 0 = no search.",
                                range=(0, 100))
    spin_register_steps: int = param(18, "Turns tried about the axis of revolution per finalist (evenly over "
                                         "360 deg).", range=(1, 360))
    spin_track_deg: float = param(10.0, "Tracking searches turns about the axis of revolution up to this either "
                                        "side of the refined pose, by appearance, degrees; 0 = no search.",
                                  range=(0, 90), unit="degrees")
    spin_full_every: int = param(3, "Every this many tracked frames (not counting frames tracked while newer ones "
                                     "wait), once that frame's pose is out (PoseEstimator.search_turns), tracking "
                                     "renders and scores spin_track_turns "
                                     "more of the spin_register_steps turns about the axis of revolution "
                                     "(round-robin, with the tracked turn and the best other turn so far) and takes "
                                     "the best for the next frame when it scores clearly better (recovers a turn "
                                     "lost while the print was out of view); 0 = never.", range=(0, 1000))
    spin_full_every_behind: int = param(4, "The same search every this many frames tracked while newer ones wait "
                                            "(a catch-up after a registration, whose turn may be off; counted "
                                            "apart from spin_full_every's frames), one round of all turns at most "
                                            "per registration (a node that stays behind gets no slower); 0 = never "
                                            "while behind.", range=(0, 1000))
    spin_track_turns: int = param(6, "Turns of that full search rendered per such frame besides the tracked turn "
                                      "and the best other turn so far (all spin_register_steps - 1 others take "
                                      "ceil((spin_register_steps - 1) / this) such frames).", range=(1, 359))
    spin_track_crop: int = param(32, "Crop side of that full search's renderings, pixels (the tracked turn is "
                                      "rendered alike; the winner is refined on a score_crop_size rendering).",
                                 range=(8, 512), unit="pixels")
    spin_step_deg: float = param(2.0, "Step of the turn search of tracking and of registration's final local "
                                      "search, degrees.", range=(0.1, 30), unit="degrees")
    # Point-to-plane ICP cannot see a slide along a direction that no visible normal has a part of (a box
    # seen edge-on with two faces in view slides along their common edge): the pose drifts there by the
    # velocity's error, a little each frame (indep_sugar_exit_and_return: 10 mm in 12 frames, then lost,
    # in about 1 of 7 live runs; with the search none in 12, offline drift after a 0.3 mm nudge halved).
    slide_track_m: float = param(0.003, "Where the visible surface leaves a translation direction nearly "
                                        "unconstrained by depth (see slide_condition), tracking also scores "
                                        "the refined pose moved this far either way along it and keeps the "
                                        "best, metres; 0 = never.", range=(0, 0.05), unit="metres")
    slide_condition: float = param(0.1, "The slide search runs where the visible normals' scatter along its "
                                        "weakest direction is below this fraction of its strongest.",
                                    range=(0, 1))
    min_register_score: float = param(0.3, "A registration whose best score is below this reports no pose.",
                                      range=(0, 1))
    track_margin: float = param(1.5, "Tracking reads the image inside the previous pose's crop window scaled by "
                                     "this (room for the motion since the previous frame).", range=(1, 10))
    renderer: str = param("auto", "Rendering backend: auto (Embree on the CPU when embreex is installed, else "
                                  "torch), torch (CPU/CUDA), embree (CPU), nvdiffrast (CUDA, user-installed).",
                          choices=BACKENDS)
    refiner: str = param("geometric", "geometric (no weights) or learned (FoundationPose's RefineNet from "
                                      "refiner_weights_dir).", choices=("geometric", "learned"))
    # Network logits have no absolute scale: whether a pose is trusted is always decided geometrically.
    scorer: str = param("geometric", "geometric or learned (ScoreNet from scorer_weights_dir; it ranks "
                                     "hypotheses, trust stays geometric).", choices=("geometric", "learned"))
    refiner_weights_dir: str = param("", "Refiner checkpoint directory (model_best.pth + config.yml) when "
                                         "refiner is learned.")
    scorer_weights_dir: str = param("", "Scorer checkpoint directory (model_best.pth + config.yml) when scorer is "
                                        "learned.")
    batch_size: int = param(32, "Largest number of crop pairs per network call (the learned path).",
                            range=(1, 4096))

    def __post_init__(self) -> None:
        validate(self, lambda c: [
            ("max_depth", c.max_depth > c.min_depth, "must be larger than min_depth (metres)"),
            ("refiner_weights_dir", c.refiner != "learned" or bool(c.refiner_weights_dir),
             "must name a checkpoint directory when refiner is 'learned'"),
            ("scorer_weights_dir", c.scorer != "learned" or bool(c.scorer_weights_dir),
             "must name a checkpoint directory when scorer is 'learned'"),
        ])

    @property
    def n_hypotheses(self) -> int:
        """Registration hypotheses: viewpoints x in-plane angles (252 with the defaults)."""
        hyp = IcosphereHypotheses(self.min_views, self.inplane_step_deg)
        return len(hyp.viewpoints()) * len(hyp.inplane_angles_rad)


@dataclass(frozen=True)
class EngineParts:
    """The collaborators of one :class:`PoseEstimator`, as :func:`build_estimator` chose them.

    Attributes:
        renderer: draws every stage's crops (back faces culled when both meshes are closed).
        render_model: the object as drawn by the fine pass and tracking (simplified to the face budget).
        coarse_model: the object as drawn by the coarse pass over all hypotheses.
        coarse_refiner, fine_refiner, track_refiner: refine each stage's poses.
        coarse_scorer: ranks the coarse pass's hypotheses.
        scorer: ranks the refined hypotheses.
        trust_scorer: decides whether the chosen pose is trusted, whatever ranked the hypotheses.
        turn_scorer: the trust scorer's measure on tracking's full turn search's smaller crops.
    """

    renderer: Renderer
    render_model: ObjectModel
    coarse_model: ObjectModel
    coarse_refiner: Refiner
    fine_refiner: Refiner
    track_refiner: Refiner
    coarse_scorer: Scorer
    scorer: Scorer
    trust_scorer: GeometricScorer
    turn_scorer: GeometricScorer


def build_estimator(
    model: ObjectModel, config: EstimatorConfig | None = None, renderer: Renderer | None = None
) -> PoseEstimator:
    """The engine for ``model`` as ``config`` describes it: the one place its collaborators are chosen.

    ``config.renderer`` names the rendering backend, ``config.refiner`` / ``config.scorer`` choose
    geometric or learned stages (the latter loaded from ``config.refiner_weights_dir`` /
    ``config.scorer_weights_dir``), the crop sizes and step counts configure each stage.

    Args:
        model: the object, as loaded (full resolution; metrics and the returned poses use it).
        config: settings; default :class:`EstimatorConfig()`.
        renderer: a renderer instance in place of ``config.renderer``'s backend (a wrapped or new
            backend: see docs/architecture.md, "where a backend plugs in").

    Raises:
        ConfigError: a renderer that cannot run on ``config.device``, or a missing, unreadable or
            mismatching learned checkpoint (the message names the path or the keys).
    """
    cfg = config or EstimatorConfig()
    renderer = renderer or create_renderer(cfg.renderer, cfg.device)
    render_model = simplify_for_rendering(model, cfg.max_render_faces or renderer.face_budget)
    coarse_model = simplify_for_rendering(model, cfg.coarse_render_faces or renderer.face_budget)
    if is_closed_and_oriented(render_model) and is_closed_and_oriented(coarse_model):
        # Closed, outward-wound meshes never show back faces: skipping them halves rasterisation.
        renderer = renderer.with_backface_culling()
    learned_refiner = _learned_refiner(cfg, renderer)
    learned_scorer = _learned_scorer(cfg, renderer)
    trust_scorer = GeometricScorer(renderer, GeometricScorerConfig(crop_size=cfg.score_crop_size,
                                                                    appearance=cfg.appearance))
    parts = EngineParts(
        renderer=renderer, render_model=render_model, coarse_model=coarse_model,
        coarse_refiner=learned_refiner or GeometricRefiner(
            renderer, GeometricRefinerConfig(crop_ratio=cfg.crop_ratio, crop_size=cfg.coarse_crop_size,
                                             steps_per_render=cfg.coarse_steps)),
        fine_refiner=learned_refiner or GeometricRefiner(
            renderer, GeometricRefinerConfig(crop_ratio=cfg.crop_ratio, crop_size=cfg.fine_crop_size,
                                             steps_per_render=cfg.register_steps)),
        # Tracking starts near the answer: a smaller initial inlier distance rejects more clutter.
        track_refiner=learned_refiner or GeometricRefiner(
            renderer, GeometricRefinerConfig(
                crop_ratio=cfg.crop_ratio, crop_size=cfg.fine_crop_size, inlier_start=0.15,
                translation_only_steps=0, steps_per_render=cfg.track_steps, converged_step_m=cfg.track_converged_m)),
        coarse_scorer=learned_scorer or GeometricScorer(
            renderer, GeometricScorerConfig(crop_size=max(cfg.coarse_crop_size, 8), appearance=cfg.appearance)),
        scorer=learned_scorer or trust_scorer,
        trust_scorer=trust_scorer,
        turn_scorer=GeometricScorer(renderer, GeometricScorerConfig(crop_size=cfg.spin_track_crop,
                                                                    appearance=cfg.appearance)),
    )
    return PoseEstimator(model, cfg, parts)


def _learned_refiner(config: EstimatorConfig, renderer: Renderer) -> Refiner | None:
    """FoundationPose's RefineNet from ``config.refiner_weights_dir`` when ``config.refiner`` is "learned"."""
    if config.refiner != "learned":
        return None
    from fpose_ros.core.nets.checkpoint import load_refine_net
    from fpose_ros.core.refinement.learned import LearnedRefiner, LearnedRunConfig

    net, net_config = load_refine_net(config.refiner_weights_dir, config.device)
    return LearnedRefiner(renderer, net, net_config, LearnedRunConfig(batch_size=config.batch_size))


def _learned_scorer(config: EstimatorConfig, renderer: Renderer) -> Scorer | None:
    """FoundationPose's ScoreNet from ``config.scorer_weights_dir`` when ``config.scorer`` is "learned"."""
    if config.scorer != "learned":
        return None
    from fpose_ros.core.nets.checkpoint import load_score_net
    from fpose_ros.core.refinement.learned import LearnedRunConfig
    from fpose_ros.core.scoring.learned import LearnedScorer

    net, net_config = load_score_net(config.scorer_weights_dir, config.device)
    return LearnedScorer(renderer, net, net_config, LearnedRunConfig(batch_size=config.batch_size))


@dataclass
class TurnSearch:
    """Where tracking's full turn search, spread over frames, stands since the last registration.

    Turn ``i`` (1 .. steps - 1) is ``i * 360 / steps`` deg about the axis of revolution from the
    tracked turn, whatever that is on the frame (the search asks how far off the tracked turn is).

    The round-robin takes the turns nearest the tracked one first, either way (:func:`nearest_turns_first`):
    a registration's or a drifted turn is more often one or two steps off than half a turn.

    Attributes:
        frames: frames tracked level (no newer frame waiting) since the registration.
        frames_behind: frames tracked behind (newer frames waiting) since the registration.
        cursor: the round-robin's next position in :func:`nearest_turns_first`'s order.
        candidate: the index of the best other turn on the last search frame (rendered again on the
            next one, so that a winner seen once need not wait for the round-robin to come back), or None.
    """

    frames: int = 0
    frames_behind: int = 0
    cursor: int = 0
    candidate: int | None = None

    def count_frame(self, every: int, behind: bool, most_behind: int) -> bool:
        """Count a tracked frame; whether it is a search frame: every ``every``-th of its kind, never for 0.

        Frames tracked behind are search frames only until ``most_behind`` of them were (the estimator
        gives :func:`search_frames_per_round`: the catch-up after a registration gets one round of all
        turns, a node that stays behind no more).
        """
        if behind:
            self.frames_behind += 1
            return every > 0 and self.frames_behind % every == 0 and self.frames_behind <= every * most_behind
        self.frames += 1
        return every > 0 and self.frames % every == 0

    def next_batch(self, steps: int, per_frame: int) -> list[int]:
        """The turn indices to render on this search frame: the candidate, then the round-robin's next.

        The round-robin moves on by ``per_frame`` (at most all ``steps - 1`` others) whether or not the
        candidate is among them, so every turn comes round within :func:`search_frames_per_round`
        search frames; at most ``per_frame + 1`` indices, none twice.
        """
        order = nearest_turns_first(steps)
        picked = [] if self.candidate is None else [self.candidate]
        for _ in range(min(per_frame, len(order))):
            turn = order[self.cursor % len(order)]
            if turn != self.candidate:
                picked.append(turn)
            self.cursor = (self.cursor + 1) % len(order)
        return picked


def search_frames_per_round(steps: int, per_frame: int) -> int:
    """Search frames in which every other turn of ``steps`` comes round, ``per_frame`` a frame."""
    return math.ceil((steps - 1) / per_frame)


def nearest_turns_first(steps: int) -> list[int]:
    """Turn indices 1 .. ``steps`` - 1 (of ``steps`` over 360 deg) by distance from turn 0, either way alternating.

    E.g. ``steps`` 18: 1, 17, 2, 16, ..., 8, 10, 9 (+20, -20, +40, -40, ..., 180 deg).
    """
    order: list[int] = []
    for near in range(1, steps // 2 + 1):
        order.extend(dict.fromkeys((near, steps - near)))  # once where both are the half turn
    return order


@dataclass(frozen=True)
class PendingTurnSearch:
    """A tracked frame's search over all turns, left for after its pose is out (:meth:`PoseEstimator.search_turns`).

    Attributes:
        observation: that frame's preprocessed observation.
        T_cam_centered: (1, 4, 4) float32 its tracked pose.
        stamp_s: its stamp, seconds.
    """

    observation: Observation
    T_cam_centered: torch.Tensor
    stamp_s: float


class PoseEstimator:
    """Registers and tracks one object (:class:`ObjectModel`) in RGB-D frames.

    Build it with :func:`build_estimator`, which chooses its parts from an :class:`EstimatorConfig`;
    the constructor composes parts already made.

    Args:
        model: the object, as loaded (full resolution; metrics and the returned poses use it).
        config: settings (crop sizes, iterations, thresholds; the parts were chosen from it).
        parts: renderer, meshes as drawn, and each stage's refiner and scorer. A scorer that is a
            :class:`~fpose_ros.core.scoring.base.DetailedScorer` ranks on the trust scale and is trusted as
            is; a :class:`~fpose_ros.core.refinement.base.SurfaceSharingRefiner` for tracking lets the
            engine keep its rendering between frames.

    Attributes:
        keyframe: the geometric tracking's kept rendering; its ``lookups`` / ``hits`` count the
            tracked frames and those that needed no rendering. It belongs to one registration:
            :meth:`register` clears it, so a track after a reset, a loss or a re-registration renders afresh.
    """

    def __init__(self, model: ObjectModel, config: EstimatorConfig, parts: EngineParts) -> None:
        self.model = model
        self.config = config
        self.device = torch.device(config.device)
        self.renderer = parts.renderer
        self.render_model = parts.render_model
        self.coarse_model = parts.coarse_model
        self.coarse_refiner = parts.coarse_refiner
        self.fine_refiner = parts.fine_refiner
        self.track_refiner = parts.track_refiner
        self.coarse_scorer = parts.coarse_scorer
        self.scorer = parts.scorer
        self.trust_scorer = parts.trust_scorer
        self.turn_scorer = parts.turn_scorer
        # Hypotheses equivalent under the object's declared symmetries look the same: one of each is refined.
        self._rotations = prune_equivalent(
            IcosphereHypotheses(config.min_views, config.inplane_step_deg).rotations(self.device),
            model.symmetries, EQUIVALENT_HYPOTHESIS_DEG)
        self.keyframe = SurfaceKeyframe(KeyframeConfig(max_view_change_deg=config.keyframe_view_change_deg))
        #: The shape's axis of revolution (centred frame) when the object is textured, else None: turns
        #: about it are searched by appearance (depth cannot see them). None too where the user declared
        #: any turn about an axis a symmetry (the print then shows none either).
        self.spin_axis = revolution_axis(model) if model.is_textured and model.symmetry_axis is None else None
        self._turn_search = TurnSearch()
        self._pending_search: PendingTurnSearch | None = None

    # ------------------------------------------------------------------ API

    def warm_up(self, camera: CameraIntrinsics | None = None) -> None:
        """Run one registration and one tracking step on a frame rendered from the model itself.

        torch's first calls allocate and select kernels (about as long again as a registration);
        a node calls this at start-up so that the first real registration is not the slow one.
        """
        cam = camera or CameraIntrinsics(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=640, height=480)
        T = torch.eye(4, device=self.device)[None]
        T[0, 2, 3] = 2.5 * self.model.diameter + 0.2
        with torch.inference_mode():
            out = self.renderer.render(MeshTensors.from_object_model(self.render_model, self.device), T,
                                       cam.matrix_tensor(self.device), cam.height, cam.width)
        mask = out.mask[0].cpu().numpy()
        depth = out.depth[0].cpu().numpy()
        depth[~mask] = float(T[0, 2, 3]) + self.model.diameter
        rgb = (out.rgb[0].cpu().numpy() * 255).astype(np.uint8)
        frame = RGBDFrame(rgb, depth.astype(np.float32), cam)
        result = self.register(frame, mask)
        if result.has_pose:
            self.track(frame, result)

    def register(self, frame: RGBDFrame, mask: np.ndarray) -> PoseResult:
        """Find the object's pose from scratch in ``frame`` given its detector ``mask``.

        Args:
            frame: the RGB-D frame.
            mask: (H, W) array, nonzero on the object.

        Returns:
            A :class:`PoseResult` in mode TRACKING with the pose, or in mode REGISTERING without one
            and a ``reason`` (bad mask, no depth in the mask, best score too low).
        """
        start = time.perf_counter()
        stamp = frame.stamp_s
        # A rendering kept from before this registration may show the object where it no longer is.
        self.keyframe.clear()
        self._turn_search = TurnSearch()
        self._pending_search = None
        try:
            mask_bool = validate_mask(mask, frame.shape)
        except InputError as exc:
            return _no_pose(str(exc), TrackingMode.REGISTERING, stamp, start)
        if not mask_bool.any():
            return _no_pose("the mask is empty: no object to register", TrackingMode.REGISTERING, stamp, start)
        with torch.inference_mode():
            sub, sub_mask = crop_frame(frame, mask_bool, _mask_roi(mask_bool))
            obs = observation_from_frame(sub, sub_mask, self.device, self.config.min_depth, self.config.max_depth,
                                         self.config.clean_depth)
            assert obs.mask is not None  # built from the mask above
            t_init = initial_translation(obs.depth, obs.mask, obs.K)
            if t_init is None:
                return _no_pose(f"the mask holds fewer than 4 pixels with valid depth in "
                                f"[{self.config.min_depth}, {self.config.max_depth}] m",
                                TrackingMode.REGISTERING, stamp, start)
            t_pre = time.perf_counter()
            poses = hypothesis_poses(self._rotations, t_init)
            t_hyp = time.perf_counter()
            poses, coarse_surface = self._coarse_refine(obs, poses)
            t_coarse = time.perf_counter()
            coarse_scores = self._coarse_score(obs, poses, coarse_surface)
            t_coarse_score = time.perf_counter()
            top = torch.topk(coarse_scores, min(self.config.top_k, poses.shape[0])).indices
            refined = self.fine_refiner.refine(self.render_model, obs, poses[top], self.config.register_iterations)
            t_fine = time.perf_counter()
            if self.spin_axis is not None and self.config.spin_finalists > 0:
                T_best, chosen = self._register_turns(obs, refined)
                score, visible = float(chosen.score[0]), float(chosen.visible_fraction[0])
            else:
                best, score, visible = self._rank_and_trust(obs, refined)
                T_best = refined[best]
            t_end = time.perf_counter()
        timings = StageTimings(
            preprocess_ms=_ms(start, t_pre), hypotheses_ms=_ms(t_pre, t_hyp),
            refine_ms=_ms(t_hyp, t_coarse) + _ms(t_coarse_score, t_fine),
            score_ms=_ms(t_coarse, t_coarse_score) + _ms(t_fine, t_end), total_ms=_ms(start, t_end),
        )
        if not score >= self.config.min_register_score:
            return _no_pose(f"no hypothesis fits the observation: best score {score:.2f} < min_register_score "
                            f"{self.config.min_register_score}", TrackingMode.REGISTERING, stamp, start,
                            timings=timings, n_hypotheses=poses.shape[0])
        return self._result(T_best, score, visible, stamp, poses.shape[0], timings)

    def track(self, frame: RGBDFrame, previous: PoseResult, *, behind: bool = False,
              backwards: bool = False) -> PoseResult:
        """Refine ``previous``'s pose on ``frame`` and score it (no loss decision: see ObjectTracker).

        For an object with an axis of revolution, every ``spin_full_every``-th tracked frame leaves a
        search over all turns about it for :meth:`search_turns`, to run once this frame's pose is out.
        ``behind``: newer frames wait (a catch-up after a registration, a node behind the camera): such
        frames leave it only every ``spin_full_every_behind``-th, counted apart, and only until one round
        over all turns since the registration (the next frame waits for the search; a catch-up still needs
        it, for a registration's turn may be off). ``backwards``: ``frame`` is older than the last frame
        tracked (tracked back from a registration): it neither leaves the search nor counts towards it, for
        the next frame starts from a newer pose and the catch-up after it keeps its round. Nothing else
        changes.

        Returns:
            A :class:`PoseResult` in mode TRACKING with the refined pose and its score, or without a pose
            and a ``reason`` when ``previous`` has none or the refinement diverged numerically.
        """
        start = time.perf_counter()
        stamp = frame.stamp_s
        self._pending_search = None  # a search left by an earlier frame and not run is dropped
        if previous.T_cam_centered is None:
            return _no_pose("nothing to track: the previous result has no pose", TrackingMode.TRACKING, stamp, start)
        search_due = False
        with torch.inference_mode():
            T_prev = torch.as_tensor(previous.T_cam_centered, dtype=torch.float32, device=self.device)[None]
            roi = _window_roi(T_prev, frame, self.model.diameter, self.config.crop_ratio * self.config.track_margin)
            sub, _ = crop_frame(frame, None, roi)
            obs = observation_from_frame(sub, None, self.device, self.config.min_depth, self.config.max_depth,
                                         self.config.clean_depth)
            t_pre = time.perf_counter()
            if isinstance(self.track_refiner, SurfaceSharingRefiner):
                # The previous frames' rendering serves while the view is nearly the same (surface_keyframe).
                T, surface = self.track_refiner.refine_with_surface(
                    self.render_model, obs, T_prev, self.config.track_iterations,
                    self.keyframe.lookup(previous.T_cam_centered))
                assert surface is not None  # a refinement of track_iterations >= 1 (EstimatorConfig) renders
                self.keyframe.store(surface)
                t_refine = time.perf_counter()
                if self.spin_axis is not None and self.config.spin_track_deg > 0:
                    T, details = self._best_turn(obs, T, surface, self.config.spin_track_deg)
                    every = self.config.spin_full_every_behind if behind else self.config.spin_full_every
                    one_round = search_frames_per_round(self.config.spin_register_steps, self.config.spin_track_turns)
                    search_due = not backwards and self._turn_search.count_frame(every, behind, one_round)
                else:
                    details = self.trust_scorer.score_surface(surface, obs, T)
                if self.config.slide_track_m > 0:
                    T, details = self._track_slide(obs, T, surface, details)
            else:
                T = self.track_refiner.refine(self.render_model, obs, T_prev, self.config.track_iterations)
                t_refine = time.perf_counter()
                details = self.trust_scorer.details(self.render_model, obs, T)
            score, visible = float(details.score[0]), float(details.visible_fraction[0])
            occluded = float(details.occluded_fraction[0])
            t_end = time.perf_counter()
        timings = StageTimings(preprocess_ms=_ms(start, t_pre), refine_ms=_ms(t_pre, t_refine),
                               score_ms=_ms(t_refine, t_end), total_ms=_ms(start, t_end))
        if not bool(torch.isfinite(T).all()):
            return _no_pose("tracking diverged (non-finite pose)", TrackingMode.TRACKING, stamp, start, timings, 1)
        if search_due:
            self._pending_search = PendingTurnSearch(obs, T, stamp)
        return self._result(T[0], score, visible, stamp, 1, timings, occluded)

    def search_turns(self) -> PoseResult | None:
        """The search over all turns about the axis of revolution that the last tracked frame left.

        Renders, on ``spin_track_crop`` crops, the tracked turn, the best other turn found so far and the
        next ``spin_track_turns`` of the ``spin_register_steps`` turns over 360 deg (:class:`TurnSearch`,
        round-robin), so that no frame renders them all (a frame that did cost several frames' tracking
        time, and a live node fell behind the camera). The best other turn takes over, refined
        (:meth:`_refine_turn`), when it beats the tracked turn, rendered alike on that frame, by
        ``_FULL_TURN_MARGIN``: a turn that went wrong while the print was out of view (a plain side, a
        glare) is found again once the print shows. It runs after the frame's pose is out, not before
        (the node publishes, then calls this): the frame's latency is that of the frames without it
        (indep_can_spin60 offline, one thread: 7-7.5 ms per tracked frame without the search, 10-11 ms
        with it), the next frame starts from the turn that took over.

        Returns:
            That frame's result at the turn that took over, or None: no search pending (not a search
            frame, or a registration or another frame since), or the tracked turn stays.
        """
        pending, self._pending_search = self._pending_search, None
        if pending is None:
            return None
        start = time.perf_counter()
        search = self._turn_search
        steps = self.config.spin_register_steps
        indices = search.next_batch(steps, self.config.spin_track_turns)
        if not indices:  # a single step: no other turn
            return None
        with torch.inference_mode():
            obs, T = pending.observation, pending.T_cam_centered
            angles = torch.tensor([0, *indices], dtype=torch.float32, device=self.device) * (360.0 / steps)
            scores = self.turn_scorer.score(self.render_model, obs, T @ self.turns(angles))
            best = int(torch.argmax(scores[1:])) + 1
            if float(scores[best]) <= float(scores[0]) + _FULL_TURN_MARGIN:
                search.candidate = indices[best - 1]
                return None
            # The winner becomes the tracked turn: the candidate's offset from it is gone.
            search.candidate = None
            # The kept rendering shows the old turn's side of the print.
            self.keyframe.clear()
            T_turned, details = self._refine_turn(obs, T @ self.turns(angles[best:best + 1]))
        total = _ms(start, time.perf_counter())
        return self._result(T_turned[0], float(details.score[0]), float(details.visible_fraction[0]), pending.stamp_s,
                            1, StageTimings(score_ms=total, total_ms=total), float(details.occluded_fraction[0]))

    # ------------------------------------------------------------------ helpers

    def _coarse_refine(self, obs: Observation, poses: torch.Tensor) -> tuple[torch.Tensor, VisibleSurface | None]:
        """The first pass over all (B, 4, 4) hypotheses, with its rendering when the refiner hands it back."""
        if isinstance(self.coarse_refiner, SurfaceSharingRefiner):
            return self.coarse_refiner.refine_with_surface(self.coarse_model, obs, poses, self.config.coarse_iterations)
        return self.coarse_refiner.refine(self.coarse_model, obs, poses, self.config.coarse_iterations), None

    def _coarse_score(self, obs: Observation, poses: torch.Tensor, surface: VisibleSurface | None) -> torch.Tensor:
        """(B,) scores of the first pass's refined poses, which only choose the ``top_k`` refined further.

        A geometric scorer scores on the surface the first pass rendered, moved with each pose (as
        tracking scores on its refinement's rendering): the views differ from the rendered ones by the
        pass's few steps, close enough to rank, and every hypothesis is rendered once instead of
        twice (a third of a registration's CPU time). The ``top_k`` are rendered afresh anyway.
        """
        if surface is not None and isinstance(self.coarse_scorer, GeometricScorer):
            return self.coarse_scorer.score_surface(surface, obs, poses).score
        return self.coarse_scorer.score(self.coarse_model, obs, poses)

    def _rank_and_trust(self, obs: Observation, T: torch.Tensor) -> tuple[int, float, float]:
        """Index of the best of (B, 4, 4) poses by the scorer, and its geometric score and visible fraction."""
        if isinstance(self.scorer, DetailedScorer):
            details: ScoreDetails = self.scorer.details(self.render_model, obs, T)
            best = int(torch.argmax(details.score))
            return best, float(details.score[best]), float(details.visible_fraction[best])
        best = int(torch.argmax(self.scorer.score(self.render_model, obs, T)))
        details = self.trust_scorer.details(self.render_model, obs, T[best:best + 1])
        return best, float(details.score[0]), float(details.visible_fraction[0])

    def _register_turns(self, obs: Observation, refined: torch.Tensor) -> tuple[torch.Tensor, ScoreDetails]:
        """The best of (B, 4, 4) refined poses and their turns about the axis of revolution, by the trust scorer.

        The ``spin_finalists`` best refined poses, and each upside down (a half turn about a line across
        the axis: a can's shape fits that too; one the shape does not fit scores low on depth), go
        through :meth:`_all_turns`.

        Returns:
            The (4, 4) pose and its score details (one row).
        """
        scores = self.trust_scorer.score(self.render_model, obs, refined)
        top = refined[torch.topk(scores, min(self.config.spin_finalists, refined.shape[0])).indices]
        T, details, _ = self._all_turns(obs, torch.cat([top, top @ self.upside_down()]))
        return T[0], details

    def _all_turns(self, obs: Observation, poses: torch.Tensor) -> tuple[torch.Tensor, ScoreDetails, float]:
        """The best of ``spin_register_steps`` turns evenly over 360 deg of each of (F, 4, 4) poses.

        The shape fits every turn, the texture only one: all F x steps turns are rendered and scored,
        and the winner's turn is refined by :meth:`_best_turn` within half a step either side.

        Returns:
            The (1, 4, 4) pose, its score details (one row), and the score of ``poses[0]`` itself
            (rendered and scored alike).
        """
        step_deg = 360.0 / self.config.spin_register_steps
        turns = self.turns(torch.arange(self.config.spin_register_steps, device=self.device) * step_deg)
        candidates = (poses[:, None] @ turns[None]).reshape(-1, 4, 4)
        details = self.trust_scorer.details(self.render_model, obs, candidates)
        T, chosen = self._refine_turn(obs, candidates[int(torch.argmax(details.score))][None])
        return T, chosen, float(details.score[0])

    def _refine_turn(self, obs: Observation, T: torch.Tensor) -> tuple[torch.Tensor, ScoreDetails]:
        """The winner (1, 4, 4) of a search over turns ``360 / spin_register_steps`` deg apart, refined.

        Rendered afresh on the trust scorer's crop, its turn is searched within half that step either
        side (:meth:`_best_turn`). Returns the (1, 4, 4) pose and its score details (one row).
        """
        surface = self.trust_scorer.render_surface(self.render_model, obs, T)
        return self._best_turn(obs, T, surface, 180.0 / self.config.spin_register_steps)

    def _best_turn(self, obs: Observation, T: torch.Tensor, surface: VisibleSurface, half_range_deg: float
                   ) -> tuple[torch.Tensor, ScoreDetails]:
        """The best turn of a (1, 4, 4) pose about the axis of revolution within +-``half_range_deg``.

        Turns ``spin_step_deg`` apart (the pose itself included) are scored on ``surface`` (a
        rendering at or near ``T``, moved rigidly: the shape is the same at every turn, only the
        texture moves), so the search costs no rendering; the best appearance wins.

        Returns:
            The (1, 4, 4) best turn and its score details (one row).
        """
        n_side = math.floor(half_range_deg / self.config.spin_step_deg + 1e-6)
        angles = torch.arange(-n_side, n_side + 1, device=self.device) * self.config.spin_step_deg
        candidates = T @ self.turns(angles)
        details = self.trust_scorer.score_surface(surface.repeated(len(angles)), obs, candidates)
        # The turn is the print's to decide (depth sees none): ranked by appearance alone, so that a poor
        # fit (an object half out of view) cannot lift its score by sliding the frozen surface around.
        # Where the print in view cannot tell turns apart (a plain side), they tie: keep the refined pose.
        best = int(torch.argmax(details.appearance - _TURN_PRIOR * angles.abs() / max(half_range_deg, 1e-6)))
        return candidates[best:best + 1], details.row(best)

    def _track_slide(self, obs: Observation, T: torch.Tensor, surface: VisibleSurface, details: ScoreDetails
                     ) -> tuple[torch.Tensor, ScoreDetails]:
        """A refined (1, 4, 4) pose moved along the direction depth cannot fix, if that scores better.

        Where :func:`least_constrained_translation` of the rendering's visible normals is below
        ``slide_condition``, the pose moved ``slide_track_m`` either way along that direction is scored on
        ``surface`` (moved rigidly, no rendering); the better wins where it beats the pose's own score (``details``)
        by more than ``_SLIDE_PRIOR``. The score's appearance and outline see what the depth fit cannot.

        Returns:
            The (1, 4, 4) pose and its score details (one row): ``T`` and ``details`` when it stays.
        """
        direction, ratio = least_constrained_translation(surface.normals[0][surface.valid[0]])
        if ratio > self.config.slide_condition:
            return T, details
        step = T[0, :3, :3] @ direction.to(T.dtype) * self.config.slide_track_m  # object frame -> camera frame
        candidates = T.repeat(2, 1, 1)
        candidates[0, :3, 3] -= step
        candidates[1, :3, 3] += step
        moved = self.trust_scorer.score_surface(surface.repeated(2), obs, candidates)
        best = int(torch.argmax(moved.score))
        if float(moved.score[best]) <= float(details.score[0]) + _SLIDE_PRIOR:
            return T, details
        return candidates[best:best + 1], moved.row(best)

    def turns(self, angles_deg: torch.Tensor) -> torch.Tensor:
        """(K, 4, 4) float32 turns of the centred frame about the axis of revolution by (K,) angles, degrees."""
        assert self.spin_axis is not None
        direction, point = (torch.as_tensor(v, dtype=torch.float32, device=self.device)
                            for v in (self.spin_axis.direction, self.spin_axis.point))
        R = so3_exp(torch.deg2rad(angles_deg.to(torch.float32))[:, None] * direction[None])
        return make_transform(R, point[None] - R @ point)

    def upside_down(self) -> torch.Tensor:
        """(4, 4) float32 half turn about a line through the axis of revolution's point, across the axis."""
        assert self.spin_axis is not None
        direction = self.spin_axis.direction
        across = np.cross(direction, np.eye(3)[int(np.argmin(np.abs(direction)))])
        across /= np.linalg.norm(across)
        R = torch.as_tensor(2.0 * np.outer(across, across) - np.eye(3), dtype=torch.float32, device=self.device)
        point = torch.as_tensor(self.spin_axis.point, dtype=torch.float32, device=self.device)
        return make_transform(R, point - R @ point)

    def _result(self, T_centered: torch.Tensor, score: float, visible: float, stamp: float, n_hypotheses: int,
                timings: StageTimings, occluded: float = 0.0) -> PoseResult:
        T_c = T_centered.detach().cpu().numpy().astype(np.float64)
        return PoseResult(T_cam_obj=self.model.pose_for_mesh_origin(T_c), T_cam_centered=T_c, score=score,
                          mode=TrackingMode.TRACKING, stamp_s=stamp, n_hypotheses=n_hypotheses,
                          visible_fraction=visible, occluded_fraction=occluded, timings=timings)


#: Registration hypotheses within this angle of another's equivalent (under the declared symmetries) are one,
#: degrees. Neighbours on the default grid are 31.7-33.3 deg apart; Isaac ROS clusters at 30 deg, which on a
#: continuous symmetry leaves the axis's direction sampled only every ~30 deg (20 hypotheses for a can).
EQUIVALENT_HYPOTHESIS_DEG = 20.0
#: Score by which tracking's search over all turns must beat the tracked turn (both rendered alike) to take over.
_FULL_TURN_MARGIN = 0.03
#: Appearance NCC a turn loses at the end of a turn search's range (in proportion nearer): on ties, the refined pose.
_TURN_PRIOR = 0.01
#: Score a slide of ``slide_track_m`` must gain over the refined pose (depth barely tells them apart: noise).
_SLIDE_PRIOR = 0.01


def _no_pose(reason: str, mode: TrackingMode, stamp: float, start: float, timings: StageTimings | None = None,
             n_hypotheses: int = 0) -> PoseResult:
    total = _ms(start, time.perf_counter())
    return PoseResult(T_cam_obj=None, T_cam_centered=None, score=0.0, mode=mode, stamp_s=stamp,
                      n_hypotheses=n_hypotheses, reason=reason,
                      timings=timings or StageTimings(total_ms=total))


def _ms(t0: float, t1: float) -> float:
    return (t1 - t0) * 1e3


def crop_frame(
    frame: RGBDFrame, mask: np.ndarray | None, roi: tuple[int, int, int, int]
) -> tuple[RGBDFrame, np.ndarray | None]:
    """The part of a frame (and mask) inside a pixel box, as a frame of its own.

    Its camera is the same pinhole with the principal point moved by the box corner, so camera-frame
    poses and points are unchanged; only the work shrinks to the box's pixels. O(1) (views, no copies).

    Args:
        frame: the full frame.
        mask: (H, W) bool or None.
        roi: ``(u0, v0, u1, v1)`` pixel box, ends exclusive; clipped to the image (never empty: at
            least one pixel at the nearest border).
    """
    H, W = frame.shape
    u0, v0 = min(max(roi[0], 0), W - 1), min(max(roi[1], 0), H - 1)
    u1, v1 = max(min(roi[2], W), u0 + 1), max(min(roi[3], H), v0 + 1)
    cam = frame.intrinsics
    sub_cam = CameraIntrinsics(cam.fx, cam.fy, cam.cx - u0, cam.cy - v0, width=u1 - u0, height=v1 - v0)
    sub = RGBDFrame(frame.rgb[v0:v1, u0:u1], frame.depth[v0:v1, u0:u1], sub_cam, frame.stamp_s)
    return sub, None if mask is None else mask[v0:v1, u0:u1]


def _mask_roi(mask: np.ndarray, grow: float = 0.5) -> tuple[int, int, int, int]:
    """The mask's bounding box grown by ``grow`` of its size on each side: ``(u0, v0, u1, v1)``, ends exclusive."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    du = math.ceil(grow * (cols[-1] - cols[0] + 1))
    dv = math.ceil(grow * (rows[-1] - rows[0] + 1))
    return cols[0] - du, rows[0] - dv, cols[-1] + 1 + du, rows[-1] + 1 + dv


def _window_roi(T: torch.Tensor, frame: RGBDFrame, diameter: float, ratio: float) -> tuple[int, int, int, int]:
    """Pixel box of the crop window of pose ``T`` (1, 4, 4) with radius ``ratio * diameter / 2``."""
    K = frame.intrinsics.matrix_tensor(T.device)
    M = crop_affine(T, K, diameter, ratio, out_size=2)[0]
    scale, offset = float(M[0, 0]), M[:2, 2].tolist()
    u0, v0 = ((-0.5 - o) / scale for o in offset)
    u1, v1 = ((1.5 - o) / scale for o in offset)
    return math.floor(u0), math.floor(v0), math.ceil(u1) + 1, math.ceil(v1) + 1
