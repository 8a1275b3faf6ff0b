"""Sequences rendered by pybullet: the camera model against analytic geometry, ground truth, cache, registry."""

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.evaluation import independent_scenes
from fpose_ros.evaluation.independent_scenes import (
    IndependentSpec,
    independent_specs,
    load_or_render_independent,
    pybullet_camera,
    silhouette_area,
)
from fpose_ros.evaluation.sequence_registry import all_benchmark_specs, load_sequence

# Off-centre principal point and fx != fy, so that a swapped or mis-signed term shows.
CAMERA = CameraIntrinsics(fx=300.0, fy=280.0, cx=150.3, cy=130.6, width=320, height=240)


def _pose(rotvec=(0.0, 0.0, 0.0), t=(0.0, 0.0, 0.0)):
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    T[:3, 3] = t
    return T


def test_box_edges_and_depth_match_the_pinhole_model():
    """A box face parallel to the image: its pixels are exactly those whose centre ray hits it; z is its distance."""
    half, T = (0.06, 0.04, 0.02), _pose(t=(0.013, -0.021, 0.7))
    with pybullet_camera(CAMERA) as scene:
        body = scene.add_box(half, T)
        _, z, seg = scene.render()
    mask = seg == body
    z_face = 0.7 - half[2]
    u_lo, u_hi = (CAMERA.fx * (T[0, 3] + s * half[0]) / z_face + CAMERA.cx for s in (-1, 1))
    v_lo, v_hi = (CAMERA.fy * (T[1, 3] + s * half[1]) / z_face + CAMERA.cy for s in (-1, 1))
    u, v = np.arange(CAMERA.width), np.arange(CAMERA.height)
    expected = ((v > v_lo) & (v < v_hi))[:, None] & ((u > u_lo) & (u < u_hi))[None, :]
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_allclose(z[mask], z_face, atol=2e-4)
    assert (z[~mask] == 0).all()  # nothing else in the scene: no depth


def test_depth_of_a_tilted_plane_matches_ray_intersection():
    """Metric depth across a plane turned 35 degrees about y and 20 about x, from 0.6 to over 1 m."""
    T = _pose(Rotation.from_euler("yx", [35, 20], degrees=True).as_rotvec(), (0.0, 0.0, 0.85))
    half = (0.6, 0.6, 0.005)
    with pybullet_camera(CAMERA) as scene:
        body = scene.add_box(half, T)
        _, z, seg = scene.render()
    mask = seg == body
    assert mask.mean() > 0.9
    normal = T[:3, 2]
    offset = normal @ T[:3, 3] - half[2]  # the face towards the camera: normal . X = offset
    v, u = np.nonzero(mask)
    rays = np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones_like(u, float)], axis=1)
    expected = offset / (rays @ normal)
    assert expected.min() < 0.7 and expected.max() > 1.0
    np.testing.assert_allclose(z[mask], expected, atol=1e-3)


def test_silhouette_area_matches_the_segmentation_of_an_unoccluded_object(tmp_path):
    from fpose_ros.core.synthetic.assets import export_asset, load_asset

    model = load_asset("tex:soup_can")
    T_centered = _pose((1.1, 0.3, 0.2), (0.01, 0.0, 0.45))
    with pybullet_camera(CAMERA) as scene:
        body = scene.add_mesh(export_asset("tex:soup_can", tmp_path), model.pose_for_mesh_origin(T_centered))
        _, _, seg = scene.render()
    pixels = int((seg == body).sum())
    assert pixels > 2000
    assert silhouette_area(model.vertices, model.faces, T_centered, CAMERA) == pytest.approx(pixels, rel=0.03)


def _small(spec: IndependentSpec, **changes) -> IndependentSpec:
    return dataclasses.replace(spec, width=160, height=120, **changes)


@pytest.fixture(scope="module")
def occluder_sequence(tmp_path_factory):
    spec = next(s for s in independent_specs() if s.scenario == "occluder")
    spec = _small(spec, n_frames=16, hidden_frames=3)
    return load_or_render_independent(spec, tmp_path_factory.mktemp("cache"))


@pytest.mark.slow  # renders a short sequence
def test_occluder_hides_the_object_for_the_given_frames(occluder_sequence):
    seq = occluder_sequence
    hidden = seq.visible_fraction < 0.01
    assert hidden.sum() == seq.spec.hidden_frames
    assert np.flatnonzero(hidden).tolist() == list(range(8 - 1, 8 + 2))  # centred on frame N // 2
    assert not seq.visible[hidden].any()
    assert all(seq.masks[i] is None for i in np.flatnonzero(hidden))
    # Unoccluded and whole in view at the start and the end: the mask covers the whole silhouette.
    np.testing.assert_allclose(seq.visible_fraction[[0, 1, -2, -1]], 1.0, atol=0.03)


@pytest.mark.slow  # renders a short sequence
def test_ground_truth_projects_into_the_instance_masks(occluder_sequence):
    """Model surface points at the ground-truth pose land inside pybullet's mask (1 px of slack at the rim)."""
    import cv2

    seq = occluder_sequence
    cam = seq.camera
    points = seq.model.surface_points
    T = seq.T_cam_centered_gt
    for i in np.flatnonzero(seq.visible_fraction > 0.97):
        p = points @ T[i, :3, :3].T + T[i, :3, 3]
        u = np.round(cam.fx * p[:, 0] / p[:, 2] + cam.cx).astype(int)
        v = np.round(cam.fy * p[:, 1] / p[:, 2] + cam.cy).astype(int)
        grown = cv2.dilate(seq.true_masks[i].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        assert grown[v, u].mean() > 0.99


@pytest.mark.slow  # renders a short sequence
def test_masks_agree_with_depth(occluder_sequence):
    """Valid depth inside the object's mask lies within the posed object's depth range; the bar is nearer."""
    seq = occluder_sequence
    T = seq.T_cam_centered_gt
    z_obj = seq.model.vertices @ T[0, :3, :3].T[:, 2] + T[0, 2, 3]
    for i, frame in enumerate(seq.frames):
        inside = seq.true_masks[i] & (frame.depth > 0)
        if inside.sum() < 20:
            continue
        within = (frame.depth[inside] > z_obj.min() - 0.01) & (frame.depth[inside] < z_obj.max() + 0.01)
        assert within.mean() > 0.98
    middle = seq.frames[len(seq.frames) // 2].depth[seq.true_masks[0]]  # the object's place, hidden by the bar
    assert np.median(middle[middle > 0]) < z_obj.min()


@pytest.mark.slow  # renders a short sequence
def test_cache_is_reused(tmp_path, monkeypatch):
    spec = _small(independent_specs()[0], n_frames=2)
    first = load_or_render_independent(spec, tmp_path)
    monkeypatch.setattr(independent_scenes, "render_independent",
                        lambda spec: pytest.fail("rendered again instead of loading the cache"))
    again = load_sequence(spec, tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for a, b in zip(first.frames, again.frames, strict=True):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_allclose(a.depth, b.depth, atol=5e-4)  # stored in millimetres
    np.testing.assert_array_equal(np.array(first.true_masks), np.array(again.true_masks))
    np.testing.assert_allclose(first.T_cam_obj_gt, again.T_cam_obj_gt)
    np.testing.assert_allclose(first.visible_fraction, again.visible_fraction)
    assert [m is None for m in first.masks] == [m is None for m in again.masks]


def test_registry_names_both_sets_uniquely():
    names = [s.name for s in all_benchmark_specs()]
    assert len(names) == len(set(names))
    independent = [s for s in all_benchmark_specs() if isinstance(s, IndependentSpec)]
    assert {s.scenario for s in independent} == {"spin", "fly", "occluder", "exit_and_return"}
    assert len({s.light for s in independent}) == len(independent)  # a light of its own each
    assert all(s.asset.startswith("tex:") for s in independent)
