"""PoseEstimator end to end on a rendered frame of an asymmetric, textured object, and its input guards."""

import dataclasses

import numpy as np
import pytest
import torch
import trimesh
from geometry_helpers import pose_matrix as pose

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError
from fpose_ros.core.estimator import EstimatorConfig, PoseEstimator, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.metrics import add_error, adds_error, symmetric_add_error
from fpose_ros.core.object_model import ObjectModel, object_model_from_trimesh
from fpose_ros.core.pose_result import TrackingMode
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.symmetry import parse_symmetry
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker

CAMERA = CameraIntrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=640, height=480)
BACKGROUND_M = 0.8


def glued_boxes() -> ObjectModel:
    """Three boxes glued into an asymmetric block, every face its own colour."""
    parts = [((0.12, 0.06, 0.04), (0.0, 0.0, 0.0)), ((0.04, 0.06, 0.06), (0.04, 0.0, 0.05)),
             ((0.03, 0.03, 0.03), (-0.045, 0.045, 0.0))]
    rng = np.random.default_rng(3)
    meshes = []
    for extents, offset in parts:
        box = trimesh.creation.box(extents=extents)
        box.apply_translation(offset)
        box.unmerge_vertices()  # one vertex per face corner: per-face colours stay crisp
        colours = np.repeat(rng.integers(30, 250, (6, 3)), 2, axis=0)  # 2 triangles per face
        box.visual = trimesh.visual.ColorVisuals(box, face_colors=np.c_[colours, np.full(12, 255)].astype(np.uint8))
        meshes.append(box)
    return object_model_from_trimesh(trimesh.util.concatenate(meshes), name="glued_boxes")


MODEL = glued_boxes()


def render_frame(T_cam_centered: np.ndarray | None, seed: int = 0, stamp: float = 0.0,
                 model: ObjectModel = MODEL) -> tuple[RGBDFrame, np.ndarray]:
    """640x480 frame: ``model`` (when posed) in front of a textured wall, with mild sensor noise."""
    rng = np.random.default_rng(seed)
    H, W = CAMERA.height, CAMERA.width
    depth = np.full((H, W), BACKGROUND_M, np.float32)
    v, u = np.mgrid[0:H, 0:W]
    rgb = (100 + 60 * np.sin(u / 9.0)[..., None] * np.cos(v / 13.0)[..., None] * np.ones(3)).astype(np.float32)
    mask = np.zeros((H, W), bool)
    if T_cam_centered is not None:
        out = TorchRasterizer().render(MeshTensors.from_object_model(model),
                                       torch.as_tensor(T_cam_centered, dtype=torch.float32)[None],
                                       CAMERA.matrix_tensor(), H, W)
        mask = out.mask[0].numpy()
        depth[mask] = out.depth[0].numpy()[mask]
        rgb[mask] = out.rgb[0].numpy()[mask] * 255.0
    depth = depth + rng.normal(0.0, 0.001, depth.shape).astype(np.float32)
    rgb = np.clip(rgb + rng.normal(0.0, 3.0, rgb.shape), 0, 255).astype(np.uint8)
    return RGBDFrame(rgb, depth.astype(np.float32), CAMERA, stamp_s=stamp), mask


T_TRUE = pose((0.4, 2.2, -0.5), (0.03, -0.02, 0.5))
POINTS = MODEL.surface_points


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return build_estimator(MODEL)


@pytest.fixture(scope="module")
def registered(estimator):
    frame, mask = render_frame(T_TRUE)
    return estimator.register(frame, mask)


def test_register_finds_the_pose(registered):
    assert registered.has_pose and registered.mode is TrackingMode.TRACKING and registered.reason == ""
    assert adds_error(POINTS, registered.T_cam_centered, T_TRUE) < 0.1 * MODEL.diameter
    assert add_error(POINTS, registered.T_cam_centered, T_TRUE) < 0.1 * MODEL.diameter  # textured: not flipped
    # The API pose is of the mesh file's frame.
    np.testing.assert_allclose(registered.T_cam_obj, MODEL.pose_for_mesh_origin(registered.T_cam_centered))
    assert registered.score > 0.5 and registered.visible_fraction > 0.5
    assert registered.n_hypotheses == 252 and registered.timings.total_ms > 0


def test_track_follows_a_small_motion(estimator, registered):
    moved = pose((0.0, 0.0, 0.05), (0.0, 0.0, 0.0)) @ T_TRUE
    moved[:3, 3] += (0.01, 0.005, -0.005)
    frame, _ = render_frame(moved, seed=1)
    tracked = estimator.track(frame, registered)
    assert tracked.has_pose and tracked.n_hypotheses == 1
    assert add_error(POINTS, tracked.T_cam_centered, moved) < 0.005
    assert tracked.score > 0.5 and tracked.timings.refine_ms > 0


@pytest.mark.parametrize("motion_m", [(0.02, 0.01, 0.02), (0.0, 0.0, -0.03)], ids=["away", "towards"])
def test_the_first_frame_after_a_registration_keeps_an_object_that_moved_a_few_cm(estimator, motion_m):
    """2-3 cm in the first frame after a registration, no velocity known: the tracker's retries find it.

    Tracking from the registered pose alone fails the criteria (away: score 0; towards the camera: taken
    for an occlusion).
    """
    first, mask = render_frame(T_TRUE, stamp=0.0)
    moved = T_TRUE.copy()
    moved[:3, 3] += motion_m
    frame, _ = render_frame(moved, seed=1, stamp=1 / 30)
    tracker = ObjectTracker(estimator, LossCriteria())
    registered = tracker.process(first, mask)
    assert registered.has_pose
    assert LossCriteria().failure(estimator.track(frame, registered), registered) is not None
    tracked = tracker.process(frame)
    assert tracked.has_pose and tracked.mode is TrackingMode.TRACKING
    assert add_error(POINTS, tracked.T_cam_centered, moved) < 0.002


def test_tracker_loses_the_removed_object_within_three_frames(estimator):
    tracker = ObjectTracker(estimator, LossCriteria())  # the first frames also retry around the pose
    frame, mask = render_frame(T_TRUE)
    assert tracker.process(frame, mask).has_pose
    results = [tracker.process(render_frame(None, seed=i)[0], None) for i in range(3)]
    assert all(not r.has_pose for r in results)
    assert TrackingMode.LOST in [r.mode for r in results]


@pytest.mark.parametrize("case", ["empty mask", "zero depth", "nan depth", "mask shape", "mask on nothing"])
def test_bad_input_gives_no_pose_with_a_reason(estimator, case):
    frame, mask = render_frame(T_TRUE)
    if case == "empty mask":
        mask = np.zeros_like(mask)
    elif case == "zero depth":
        frame = dataclasses.replace(frame, depth=np.zeros_like(frame.depth))
    elif case == "nan depth":
        frame = dataclasses.replace(frame, depth=np.full_like(frame.depth, np.nan))
    elif case == "mask shape":
        mask = mask[:100]
    else:  # a mask on a region beyond the working depth range
        frame = dataclasses.replace(frame, depth=np.where(mask, 9.0, frame.depth).astype(np.float32))
    result = estimator.register(frame, mask)
    assert not result.has_pose and result.T_cam_centered is None and result.reason
    assert result.mode is TrackingMode.REGISTERING


def test_track_without_a_previous_pose(estimator):
    frame, _ = render_frame(T_TRUE)
    nothing = estimator.register(frame, np.zeros((480, 640), bool))
    result = estimator.track(frame, nothing)
    assert not result.has_pose and "previous" in result.reason


def test_track_on_empty_depth_reports_a_low_score(estimator, registered):
    frame, _ = render_frame(T_TRUE)
    frame = dataclasses.replace(frame, depth=np.zeros_like(frame.depth))
    result = estimator.track(frame, registered)
    assert result.score < 0.1 and result.visible_fraction == 0.0


def test_config_validation_names_the_value():
    with pytest.raises(ConfigError, match="max_depth"):
        EstimatorConfig(min_depth=2.0, max_depth=1.0)
    with pytest.raises(ConfigError, match="top_k"):
        EstimatorConfig(top_k=0)
    with pytest.raises(ConfigError, match="device"):
        EstimatorConfig(device="banana")
    assert EstimatorConfig().n_hypotheses == 252


def test_learned_path_is_validated_before_loading_anything():
    with pytest.raises(ConfigError, match="refiner_weights_dir"):
        EstimatorConfig(refiner="learned")
    with pytest.raises(ConfigError, match="scorer"):
        EstimatorConfig(scorer="neural")
    with pytest.raises(ConfigError, match="renderer"):
        EstimatorConfig(renderer="opengl")


def test_missing_learned_weights_are_refused_with_the_path(tmp_path):
    config = EstimatorConfig(refiner="learned", refiner_weights_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="nowhere"):
        build_estimator(MODEL, config)


class CountingRenderer:
    """Wraps a renderer and counts its calls; declares the wrapped one's capabilities."""

    def __init__(self, inner) -> None:
        self.inner, self.calls, self.batches = inner, 0, []
        self.face_budget = inner.face_budget

    def with_backface_culling(self):
        return CountingRenderer(self.inner.with_backface_culling())

    def render(self, mesh, T_cam_centered, *args, **kwargs):
        self.calls += 1
        self.batches.append(T_cam_centered.shape[0])
        return self.inner.render(mesh, T_cam_centered, *args, **kwargs)


def test_a_wrapped_renderer_gives_the_same_poses_as_the_plain_one():
    frame, mask = render_frame(T_TRUE)
    moved, _ = render_frame(pose((0.0, 0.0, 0.05), (0.0, 0.0, 0.0)) @ T_TRUE, seed=1)
    poses = []
    for renderer in (TorchRasterizer(), CountingRenderer(TorchRasterizer())):
        est = build_estimator(MODEL, renderer=renderer)
        registered = est.register(frame, mask)
        poses.append((registered.T_cam_centered, est.track(moved, registered).T_cam_centered))
    assert isinstance(est.renderer, CountingRenderer) and est.renderer.calls > 0
    for plain, wrapped in zip(poses[0], poses[1], strict=True):
        np.testing.assert_allclose(wrapped, plain, atol=1e-6)


def test_registration_renders_every_hypothesis_once():
    """The first pass scores on its own rendering; only the top_k are rendered again (refined, then scored)."""
    est = build_estimator(MODEL, renderer=CountingRenderer(TorchRasterizer()))
    result = est.register(*render_frame(T_TRUE))
    assert result.has_pose and adds_error(POINTS, result.T_cam_centered, T_TRUE) < 0.1 * MODEL.diameter
    config = est.config
    assert est.renderer.batches == [config.n_hypotheses] + [config.top_k] * (config.register_iterations + 1)


def test_tracking_reuses_a_keyframe_rendering_as_accurately_as_rendering_every_frame():
    truth = [pose((0.0, 0.004 * k, 0.0), (0.0, 0.0, 0.0)) @ T_TRUE for k in range(6)]  # 0.23 deg per frame
    frames = [render_frame(T, seed=10 + k)[0] for k, T in enumerate(truth)]
    results = {}
    for deg in (0.0, 4.0):
        est = build_estimator(MODEL, EstimatorConfig(keyframe_view_change_deg=deg),
                              renderer=CountingRenderer(TorchRasterizer()))
        current = est.register(*render_frame(truth[0]))
        est.renderer.calls = 0
        poses = []
        for frame in frames[1:]:
            current = est.track(frame, current)
            assert current.has_pose and current.score > 0.5
            poses.append(current.T_cam_centered)
        results[deg] = (poses, est.renderer.calls)
    assert results[0.0][1] == 5  # one rendering per frame, scored on it
    assert results[4.0][1] == 1  # the first frame's rendering serves the whole 1.2 deg sequence
    for T_every, T_kept, T in zip(results[0.0][0], results[4.0][0], truth[1:], strict=True):
        assert add_error(POINTS, T_kept, T) < 0.002
        assert add_error(POINTS, T_kept, T_every) < 0.001


def test_re_registration_after_a_loss_never_reuses_a_rendering_from_before_it():
    est = build_estimator(MODEL)
    tracker = ObjectTracker(est, LossCriteria())
    frame, mask = render_frame(T_TRUE)
    assert tracker.process(frame, mask).has_pose
    assert tracker.process(render_frame(T_TRUE, seed=1)[0]).has_pose  # keeps this frame's rendering
    lost = [tracker.process(render_frame(None, seed=2 + i)[0]) for i in range(3)]
    assert lost[-1].mode is TrackingMode.LOST
    assert tracker.process(*render_frame(T_TRUE, seed=5)).has_pose  # the same view registered again
    hits_before = est.keyframe.hits
    assert tracker.process(render_frame(T_TRUE, seed=6)[0]).has_pose
    assert est.keyframe.hits == hits_before  # rendered afresh, although the kept view was the same


def test_declared_symmetries_prune_equivalent_hypotheses_and_registration_still_finds_the_pose():
    box = trimesh.creation.box(extents=(0.12, 0.07, 0.04))
    symmetry = parse_symmetry(["x_180", "y_180"])  # a plain box: its three half turns look the same
    model = object_model_from_trimesh(box, symmetries=symmetry.transforms(), symmetry_axis=symmetry.axis)
    frame, mask = render_frame(T_TRUE, model=model)
    result = build_estimator(model).register(frame, mask)
    assert result.n_hypotheses == 63  # 252 / 4: one of each equivalent quadruple is refined
    assert symmetric_add_error(model.surface_points, result.T_cam_centered, T_TRUE, model.symmetries) < 0.005
