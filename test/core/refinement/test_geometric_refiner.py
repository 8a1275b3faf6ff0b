"""GeometricRefiner and its point-to-plane solver on exact ray-cast depth of an L-shaped block.

The stand-in renderer ray-casts two glued boxes analytically, so these tests check the solver's
mathematics independently of the rasteriser.
"""

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch
from geometry_helpers import pose

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.refinement.geometric import (
    GeometricRefiner,
    GeometricRefinerConfig,
    StepSettings,
    apply_twist,
    icp_targets,
    inlier_schedule,
    largest_move,
    least_constrained_translation,
    point_to_plane_step,
    solve_damped,
)
from fpose_ros.core.rendering.base import MeshTensors, RenderOutput
from fpose_ros.core.transforms import rotation_angle, so3_exp

H, W = 240, 320
K = torch.tensor([[300.0, 0.0, 159.5], [0.0, 300.0, 119.5], [0.0, 0.0, 1.0]])
# Two boxes (min corner, max corner), centred-frame metres: an L-shape with no symmetry.
BOXES = torch.tensor([[[-0.06, -0.03, -0.02], [0.06, 0.03, 0.02]],
                      [[0.02, -0.03, 0.02], [0.06, 0.03, 0.08]]])
BOXES = BOXES - 0.5 * (BOXES[:, 0].amin(0) + BOXES[:, 1].amax(0))  # bbox midpoint at the origin
DIAMETER = float((BOXES[:, 1].amax(0) - BOXES[:, 0].amin(0)).norm())


def raycast(T_cam_centered: torch.Tensor, K_b: torch.Tensor, height: int, width: int) -> RenderOutput:
    """Exact depth of the boxes: slab-method ray/box intersection for every pixel of B cameras."""
    B = T_cam_centered.shape[0]
    K_b = K_b.expand(B, 3, 3)
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                          indexing="ij")
    pix = torch.stack([u, v, torch.ones_like(u)], -1).reshape(-1, 3)
    rays_cam = pix @ torch.linalg.inv(K_b).transpose(1, 2)  # (B, P, 3), z = 1
    R, t = T_cam_centered[:, :3, :3], T_cam_centered[:, :3, 3]
    origin = -(R.transpose(1, 2) @ t[..., None])[..., 0]  # camera centre in the object frame
    dirs = rays_cam @ R  # R^T d, (B, P, 3)
    inv = 1.0 / torch.where(dirs.abs() < 1e-12, torch.full_like(dirs, 1e-12), dirs)
    best = torch.full(dirs.shape[:2], math.inf)
    normal = torch.zeros_like(dirs)
    for lo, hi in BOXES:
        t0 = (lo - origin[:, None]) * inv
        t1 = (hi - origin[:, None]) * inv
        near, far = torch.minimum(t0, t1), torch.maximum(t0, t1)
        t_near, axis = near.max(-1)
        hit = (t_near <= far.min(-1).values) & (t_near > 0) & (t_near < best)
        best = torch.where(hit, t_near, best)
        face = torch.nn.functional.one_hot(axis, 3).float() * -torch.sign(dirs)
        normal = torch.where(hit[..., None], face, normal)
    mask = torch.isfinite(best)
    depth = torch.where(mask, best, torch.zeros_like(best))  # rays have z = 1, so the ray parameter is z
    xyz = rays_cam * depth[..., None]
    normals_cam = normal @ R.transpose(1, 2)
    return RenderOutput(rgb=torch.zeros(B, height, width, 3), depth=depth.reshape(B, height, width),
                        mask=mask.reshape(B, height, width), xyz=xyz.reshape(B, height, width, 3),
                        normals=normals_cam.reshape(B, height, width, 3))


class BoxRaycaster:
    def render(self, mesh, T_cam_centered, K_b, height, width):
        return raycast(T_cam_centered, K_b, height, width)


MODEL = ObjectModel(vertices=np.zeros((3, 3), np.float32), faces=np.zeros((1, 3), np.int64),
                    vertex_colors=np.zeros((3, 3), np.float32), vertex_normals=np.zeros((3, 3), np.float32),
                    diameter=DIAMETER, T_centered_mesh=np.eye(4), surface_points=np.zeros((1, 3), np.float32),
                    surface_normals=np.zeros((1, 3), np.float32))


T_TRUE = pose([0.5, -0.6, 0.3], [0.02, -0.01, 0.5])


def observation(T_true: torch.Tensor = T_TRUE, mask: bool = False, background_m: float = 0.0) -> Observation:
    out = raycast(T_true, K, H, W)
    depth = out.depth[0]
    if background_m > 0:  # a wall behind the object, as clutter the mask must exclude
        depth = torch.where(out.mask[0], depth, torch.full_like(depth, background_m))
    return Observation(rgb=torch.zeros(H, W, 3), depth=depth, mask=out.mask[0] if mask else None, K=K)


def errors(T: torch.Tensor, T_ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotation error (degrees) and translation error (metres), (B,) each."""
    rot = torch.rad2deg(rotation_angle(T[:, :3, :3].transpose(1, 2) @ T_ref[:, :3, :3]))
    return rot, (T[:, :3, 3] - T_ref[:, :3, 3]).norm(dim=-1)


def perturb(T: torch.Tensor, angle_deg: float, shift_m: float, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    direction = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    out = T.repeat(n, 1, 1)
    out[:, :3, :3] = so3_exp(axis * math.radians(angle_deg)) @ out[:, :3, :3]
    out[:, :3, 3] += direction * shift_m
    return out


def test_converges_from_small_offsets_to_sub_millimetre():
    refiner = GeometricRefiner(BoxRaycaster(), GeometricRefinerConfig(crop_size=48))
    start = perturb(T_TRUE, 5.0, 0.01, 8)
    refined = refiner.refine(MODEL, observation(), start, iterations=5)
    rot, trans = errors(refined, T_TRUE.expand(8, 4, 4))
    assert rot.max() < 0.2 and trans.max() < 1e-3, (rot, trans)


def test_basin_of_convergence_from_twenty_degrees_and_two_centimetres():
    refiner = GeometricRefiner(BoxRaycaster(), GeometricRefinerConfig(crop_size=48))
    start = perturb(T_TRUE, 20.0, 0.02, 24, seed=1)
    refined = refiner.refine(MODEL, observation(mask=True, background_m=0.6), start, iterations=6)
    rot, trans = errors(refined, T_TRUE.expand(24, 4, 4))
    converged = (rot < 1.0) & (trans < 0.003)
    assert converged.float().mean() >= 0.9, (rot, trans)


def test_batch_equals_one_by_one():
    obs = observation()
    targets = icp_targets(obs)
    T = perturb(T_TRUE, 8.0, 0.01, 4, seed=2)
    surface = BoxRaycaster().render(None, T, K, H, W)
    B = T.shape[0]
    R_inv = T[:, :3, :3]
    points = (surface.xyz.reshape(B, -1, 3) - T[:, None, :3, 3]) @ R_inv
    normals = surface.normals.reshape(B, -1, 3) @ R_inv
    valid = surface.mask.reshape(B, -1)
    settings = StepSettings(inlier_dist=0.03, scale=DIAMETER / 2)
    batched = point_to_plane_step(points, normals, valid, T, targets, settings)
    for i in range(B):
        single = point_to_plane_step(points[i : i + 1], normals[i : i + 1], valid[i : i + 1], T[i : i + 1], targets,
                                     settings)
        torch.testing.assert_close(batched[i : i + 1], single, atol=1e-5, rtol=1e-5)
    # ...and the step actually moved every pose closer.
    before, _ = errors(T, T_TRUE.expand(B, 4, 4))
    after, _ = errors(batched, T_TRUE.expand(B, 4, 4))
    assert (after < before).all()


def test_without_observed_depth_poses_stay_put():
    obs = observation()
    empty = Observation(rgb=obs.rgb, depth=torch.zeros_like(obs.depth), mask=None, K=K)
    start = perturb(T_TRUE, 5.0, 0.01, 3)
    refined = GeometricRefiner(BoxRaycaster()).refine(MODEL, empty, start, iterations=2)
    torch.testing.assert_close(refined, start)


def test_zero_iterations_return_a_copy():
    start = perturb(T_TRUE, 5.0, 0.01, 2)
    out = GeometricRefiner(BoxRaycaster()).refine(MODEL, observation(), start, iterations=0)
    torch.testing.assert_close(out, start)
    assert out.data_ptr() != start.data_ptr()


def test_inlier_schedule_shrinks_geometrically():
    s = inlier_schedule(0.06, 0.005, 5)
    assert s[0] == pytest.approx(0.06) and s[-1] == pytest.approx(0.005)
    assert all(a > b for a, b in itertools.pairwise(s))
    assert s[1] / s[0] == pytest.approx(s[2] / s[1])
    assert inlier_schedule(0.001, 0.005, 3) == pytest.approx([0.005] * 3)
    assert inlier_schedule(0.06, 0.005, 0) == []


def test_solve_damped_zero_step_for_unusable_or_singular_rows():
    A = torch.stack([torch.eye(6) * 2.0, torch.zeros(6, 6), torch.eye(6)])
    g = torch.ones(3, 6)
    x = solve_damped(A, g, damping=0.0, usable=torch.tensor([True, True, False]))
    torch.testing.assert_close(x[0], torch.full((6,), 0.5), atol=1e-5, rtol=1e-5)
    assert torch.isfinite(x).all() and (x[1:] == 0).all()


def test_apply_twist_limits_steps():
    T = pose([0.0, 0.0, 0.0], [0.0, 0.0, 0.5])
    step = torch.tensor([[0.0, 0.0, 1.0 * 0.1, 0.3, 0.0, 0.0]])  # 1 rad at scale 0.1, 30 cm
    out = apply_twist(T, step, scale=0.1, max_rotation=0.2, max_translation=0.05)
    assert float(rotation_angle(out[:, :3, :3])) == pytest.approx(0.2, abs=1e-5)
    torch.testing.assert_close(out[0, :3, 3], torch.tensor([0.05, 0.0, 0.5]))
    free = apply_twist(T, step, scale=0.1)
    assert float(rotation_angle(free[:, :3, :3])) == pytest.approx(1.0, abs=1e-5)


def test_config_rejects_absurd_values():
    with pytest.raises(ConfigError, match="crop_size"):
        GeometricRefinerConfig(crop_size=0)
    with pytest.raises(ConfigError, match="inlier_end_m"):
        GeometricRefinerConfig(inlier_end_m=-1.0)


def test_mesh_tensors_are_cached():
    refiner = GeometricRefiner(BoxRaycaster())
    assert refiner._mesh(MODEL, torch.device("cpu")) is refiner._mesh(MODEL, torch.device("cpu"))
    assert isinstance(refiner._mesh(MODEL, torch.device("cpu")), MeshTensors)


def test_a_converged_refinement_ends_with_one_step_at_the_final_inlier_distance(monkeypatch):
    import fpose_ros.core.refinement.geometric as geometric

    distances = []
    step = geometric.point_to_plane_step

    def recording_step(*args, **kwargs):
        distances.append(kwargs["settings"].inlier_dist)
        return step(*args, **kwargs)

    monkeypatch.setattr(geometric, "point_to_plane_step", recording_step)
    obs = observation()
    start = perturb(T_TRUE, 0.5, 0.001, 1, seed=4)
    config = GeometricRefinerConfig(crop_size=48, steps_per_render=6, translation_only_steps=0)
    full = GeometricRefiner(BoxRaycaster(), config).refine(MODEL, obs, start, iterations=1)
    assert len(distances) == 6
    distances.clear()
    early = GeometricRefiner(BoxRaycaster(), dataclasses.replace(config, converged_step_m=0.0005)).refine(
        MODEL, obs, start, iterations=1)
    assert 2 <= len(distances) < 6 and distances[-1] == pytest.approx(config.inlier_end_m)
    rot, trans = errors(early, full)
    assert float(rot.max()) < 0.05 and float(trans.max()) < 0.0003


def test_largest_move_measures_translation_and_rotation_in_metres():
    T = T_TRUE.clone()
    shifted = T.clone()
    shifted[0, :3, 3] += torch.tensor([0.003, -0.001, 0.0])
    turned = T.clone()
    turned[0, :3, :3] = so3_exp(torch.tensor([[0.0, 0.0, 0.01]])) @ T[0, :3, :3]
    assert float(largest_move(T, T, 0.1)[0]) == 0.0
    assert float(largest_move(T, shifted, 0.1)[0]) == pytest.approx(0.003, rel=1e-4)
    # A turn by a moves rotation entries by at most a and, rows of R being unit vectors, at least a / sqrt(3).
    assert 0.01 * 0.1 / math.sqrt(3) <= float(largest_move(T, turned, 0.1)[0]) <= 0.01 * 0.1 * 1.001


def test_least_constrained_translation_of_two_faces_is_their_common_edge():
    normals = torch.tensor([[1.0, 0.0, 0.0]] * 50 + [[0.0, 1.0, 0.0]] * 30)
    direction, ratio = least_constrained_translation(normals)
    assert ratio == pytest.approx(0.0, abs=1e-9)
    assert abs(float(direction[2])) == pytest.approx(1.0)


def test_least_constrained_translation_of_a_cube_corner_is_no_direction_in_particular():
    normals = torch.eye(3).repeat_interleave(40, dim=0)
    assert least_constrained_translation(normals)[1] == pytest.approx(1.0)
    sliver = torch.tensor([[1.0, 0.0, 0.0]] * 40 + [[0.0, 1.0, 0.0]] * 40 + [[0.0, 0.0, 1.0]] * 2)
    direction, ratio = least_constrained_translation(sliver)  # a third face barely in view
    assert ratio == pytest.approx(2 / 40) and abs(float(direction[2])) == pytest.approx(1.0)
