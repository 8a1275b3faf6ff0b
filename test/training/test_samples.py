import dataclasses
import math

import numpy as np
import pytest
import torch

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.nets.pose_update import REFINER_MIN_Z_M, apply_pose_update, decode_refiner_output
from fpose_ros.core.transforms import rotation_angle
from fpose_ros.training.samples import (
    FINE_SCALE,
    MIN_VISIBLE_FRACTION,
    SMALL_CONFIG,
    SampleConfig,
    crop_inputs,
    perturb_poses,
    random_scene,
    refiner_pairs,
    scorer_group,
)


def _angle_deg(T: torch.Tensor, T_gt: torch.Tensor) -> torch.Tensor:
    return torch.rad2deg(rotation_angle(T[:, :3, :3] @ T_gt[:, :3, :3].transpose(-1, -2)))


def test_perturbation_stays_within_normalisers_and_target_decodes_to_truth():
    rng = np.random.default_rng(3)
    config = SampleConfig()
    T_gt = torch.eye(4).repeat(64, 1, 1)
    T_gt[:, :3, 3] = torch.tensor([0.05, -0.02, 0.7])
    T_in, dt, rot_target = perturb_poses(T_gt, rng, config)
    assert (_angle_deg(T_in, T_gt) <= 20.0 + 1e-3).all()
    assert ((T_in[:, :3, 3] - T_gt[:, :3, 3]).abs() <= torch.tensor(config.trans_normalizer) + 1e-6).all()
    assert rot_target.abs().max() < 1.0
    diameter = 0.1
    trans_out = dt / (diameter / 2)
    dt_dec, dR = decode_refiner_output(trans_out, torch.atanh(rot_target), diameter, config.rot_normalizer)
    assert torch.allclose(apply_pose_update(T_in, dt_dec, dR), T_gt, atol=1e-5)


def test_fine_fraction_shrinks_that_share_of_perturbations_and_leaves_the_recipe_alone():
    T_gt = torch.eye(4).repeat(400, 1, 1)
    T_gt[:, 2, 3] = 0.7
    recipe = perturb_poses(T_gt, np.random.default_rng(5), SampleConfig())[0]
    # fine_fraction 0 draws exactly the released recipe's perturbations (same random stream).
    assert torch.equal(perturb_poses(T_gt, np.random.default_rng(5), SampleConfig(fine_fraction=0.0))[0], recipe)
    config = SampleConfig(fine_fraction=1.0)
    T_in, dt, rot_target = perturb_poses(T_gt, np.random.default_rng(5), config)
    assert (_angle_deg(T_in, T_gt) <= 20.0 * FINE_SCALE[1] + 1e-3).all()
    assert (dt.abs() <= torch.tensor(config.trans_normalizer) * FINE_SCALE[1] + 1e-6).all()
    dt_dec, dR = decode_refiner_output(dt / 0.05, torch.atanh(rot_target), 0.1, config.rot_normalizer)
    assert torch.allclose(apply_pose_update(T_in, dt_dec, dR), T_gt, atol=1e-5)  # targets still undo them
    half = perturb_poses(T_gt, np.random.default_rng(5), SampleConfig(fine_fraction=0.5))[0]
    fine_share = float((_angle_deg(half, T_gt) <= 20.0 * FINE_SCALE[1]).float().mean())
    assert 0.5 < fine_share < 0.8  # half shrunk, plus the recipe's own draws below 8 degrees (40 % of them)
    with pytest.raises(ConfigError):
        SampleConfig(fine_fraction=1.5)


def test_scene_crops_and_groups():
    rng = np.random.default_rng(0)
    scene = random_scene("heldout", rng, SMALL_CONFIG)
    assert scene.observation.rgb.shape == (SMALL_CONFIG.height, SMALL_CONFIG.width, 3)
    S = SMALL_CONFIG.crop_size
    pairs = refiner_pairs(scene, rng, SMALL_CONFIG)
    assert pairs.A.shape == pairs.B.shape == (SMALL_CONFIG.pairs_per_scene, 6, S, S)
    # The object fills the rendered crop's middle and the observation has depth there.
    middle = slice(S * 7 // 16, S * 9 // 16)
    assert (pairs.A[:, 3:, middle, middle] != 0).any(dim=1).float().mean() > 0.5
    assert (pairs.B[:, 3:] != 0).any(dim=1).float().mean() > 0.1
    group = scorer_group(scene, rng, SMALL_CONFIG)
    assert group.A.shape == (1, SMALL_CONFIG.group_size, 6, S, S)
    assert 0 <= int(group.positive[0]) < SMALL_CONFIG.group_size


def test_occluders_leave_at_least_half_of_the_object_visible():
    config = dataclasses.replace(SMALL_CONFIG, occluder_probability=1.0)
    rng = np.random.default_rng(3)
    scenes = [random_scene("heldout", rng, config) for _ in range(10)]
    fractions = [scene.visible_fraction for scene in scenes]
    assert min(fractions) >= MIN_VISIBLE_FRACTION
    assert min(fractions) < 0.95  # occluders that hide less are kept
    for scene in scenes:
        # Independent check at the true pose: rendered and observed points agree on the visible part.
        A, B = crop_inputs(scene, scene.T_cam_centered[None], 1.2, 64, REFINER_MIN_Z_M)
        on_object = A[0, 3:].abs().sum(0) > 0
        agree = ((A[0, 3:] - B[0, 3:]).norm(dim=0) < 0.1) & on_object
        assert float(agree.sum() / on_object.sum()) > MIN_VISIBLE_FRACTION - 0.15


def test_bad_config_is_rejected():
    with pytest.raises(ConfigError):
        SampleConfig(positive_max_deg=30.0, negative_min_deg=20.0)
    with pytest.raises(ConfigError):
        SampleConfig(rot_normalizer=4 * math.pi)
