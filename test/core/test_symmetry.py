"""Declared symmetries: Isaac ROS's strings parsed into a group, equivalent poses chosen and pruned."""

import math

import numpy as np
import pytest
import torch
from geometry_helpers import pose_matrix
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.hypotheses import IcosphereHypotheses
from fpose_ros.core.symmetry import (
    closest_equivalent,
    parse_symmetry,
    prune_equivalent,
    symmetry_problem,
    without_turn,
)


def turn(axis: str, degrees: float) -> np.ndarray:
    return Rotation.from_euler(axis, degrees, degrees=True).as_matrix()


def angle_deg(A: np.ndarray, B: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(0.5 * (np.trace(A.T @ B) - 1.0), -1.0, 1.0))))


def contains(rotations: np.ndarray, R: np.ndarray) -> bool:
    return any(np.allclose(S, R, atol=1e-9) for S in rotations)


def test_no_declaration_is_the_identity_alone():
    sym = parse_symmetry()
    assert sym.is_trivial and sym.transforms().shape == (1, 4, 4)
    assert np.allclose(sym.transforms()[0], np.eye(4))


def test_a_half_turn_and_its_deprecated_plane_form_are_the_same():
    by_axis, by_plane = parse_symmetry(["z_180"]), parse_symmetry(planes=["z"])
    assert len(by_axis.rotations) == len(by_plane.rotations) == 2
    assert np.allclose(by_axis.rotations, by_plane.rotations)
    assert contains(by_axis.rotations, turn("z", 180))


def test_declared_turns_close_into_their_group():
    quarter = parse_symmetry(["z_90"])  # Isaac ROS would add 90 deg only; 180 and 270 follow
    assert len(quarter.rotations) == 4 and contains(quarter.rotations, turn("z", 270))
    box = parse_symmetry(["x_180", "y_180"])  # a box: the half turn about z follows
    assert len(box.rotations) == 4 and contains(box.rotations, turn("z", 180))
    assert np.allclose(box.rotations[0], np.eye(3))
    assert len(parse_symmetry(["x_90", "y_90"]).rotations) == 24  # a cube


def test_full_turns_are_a_continuous_axis_sampled_in_the_transforms():
    can = parse_symmetry(["z_full"])
    assert np.allclose(can.axis, [0, 0, 1]) and len(can.rotations) == 1
    T = can.transforms(full_turn_step_deg=10.0)
    assert T.shape == (36, 4, 4) and np.allclose(T[:, :3, 3], 0.0)
    assert np.allclose(T[:, :3, :3] @ [0, 0, 1], [0, 0, 1])
    flipped = parse_symmetry(["z_full", "x_180"])  # a can that also looks the same upside down
    assert len(flipped.rotations) == 2 and flipped.transforms(10.0).shape == (72, 4, 4)


@pytest.mark.parametrize(("axes", "planes", "words"), [
    (["w_180"], [], "x_, y_ or z_"),
    (["z180"], [], "x_, y_ or z_"),
    (["z_abc"], [], "neither a number"),
    (["z_70"], [], "does not divide 360"),
    (["z_0"], [], "(0, 360)"),
    ([], ["q"], "is not x, y or z"),
    (["x_full", "y_full"], [], "more than one axis"),
    (["z_full", "x_90"], [], "sphere"),
    (["x_30", "y_30"], [], "no finite symmetry group"),
])
def test_bad_declarations_say_what_is_wrong(axes, planes, words):
    with pytest.raises(ConfigError, match="symmetry_axes") as err:
        parse_symmetry(axes, planes)
    assert words in str(err.value)


def test_symmetry_problem_checks_each_entry_alone():
    assert symmetry_problem(["z_180", "x_full"]) is None
    assert symmetry_problem([]) is None
    assert "after 10 deg: 'z_10'" in symmetry_problem(["z_70"])  # 70 deg turns generate every 10 deg
    assert "'y_full'" in symmetry_problem(["y_135.5"])
    assert symmetry_problem(["x", "y"], planes=True) is None
    assert "'<x|y|z>_<degrees>'" in symmetry_problem(["x"])


def test_closest_equivalent_undoes_a_flip_and_a_turn_about_the_continuous_axis():
    T_ref = pose_matrix([0.3, -0.2, 0.1], [0.05, 0.0, 0.6])
    flipped = T_ref.copy()
    flipped[:3, :3] = T_ref[:3, :3] @ turn("z", 180) @ turn("x", 4)
    half = parse_symmetry(["z_180"])
    chosen = closest_equivalent(T_ref, flipped, half.transforms())
    assert angle_deg(chosen[:3, :3], T_ref[:3, :3]) == pytest.approx(4.0, abs=1e-6)
    assert np.allclose(chosen[:3, 3], T_ref[:3, 3])
    assert closest_equivalent(T_ref, flipped, np.eye(4)[None]) == pytest.approx(flipped)  # no symmetry: as is

    can = parse_symmetry(["z_full"])
    turned = T_ref.copy()
    turned[:3, :3] = T_ref[:3, :3] @ turn("z", 73.3) @ turn("x", 4)
    chosen = closest_equivalent(T_ref, turned, can.transforms(), can.axis)
    # Exactly the tilt remains: the turn is undone to the degree, not to the 3 deg sampling.
    assert angle_deg(chosen[:3, :3], T_ref[:3, :3]) == pytest.approx(4.0, abs=1e-6)
    assert np.allclose(chosen[:3, :3] @ [0, 0, 1], turned[:3, :3] @ [0, 0, 1])  # the axis stays where it is


def test_pruning_keeps_one_of_each_equivalent_pair_and_nothing_goes_without_symmetries():
    rotations = IcosphereHypotheses().rotations()
    assert prune_equivalent(rotations, np.eye(4)[None], 20.0) is rotations
    half = parse_symmetry(["z_180"]).transforms()
    kept = prune_equivalent(rotations, half, 20.0)
    assert kept.shape == (126, 3, 3) and kept.dtype == rotations.dtype
    # Every hypothesis dropped has an equivalent within the limit of one kept.
    R, K = rotations.double().numpy(), kept.double().numpy()
    for Rj in R:
        assert min(angle_deg(Ki, Rj @ S[:3, :3]) for Ki in K for S in half) < 20.0
    assert prune_equivalent(rotations, parse_symmetry(["z_full", "x_180"]).transforms(), 20.0).shape[0] < 30


def test_pruning_keeps_the_device_and_order():
    rotations = IcosphereHypotheses().rotations(torch.device("cpu"))
    kept = prune_equivalent(rotations, parse_symmetry(["x_180", "y_180"]).transforms(), 20.0)
    assert kept.shape[0] == 63 and torch.equal(kept[0], rotations[0])


def test_without_turn_keeps_the_axis_direction_and_drops_the_turn_about_it():
    axis = np.array([0.0, 0.0, 1.0])
    R_from = pose_matrix([0.3, -0.2, 0.1], [0, 0, 0])[:3, :3]
    swing = pose_matrix([0.2, 0.1, 0.0], [0, 0, 0])[:3, :3]
    turn = pose_matrix([0.0, 0.0, 1.1], [0, 0, 0])[:3, :3]
    np.testing.assert_allclose(without_turn(R_from, R_from @ swing @ turn, axis), R_from @ swing, atol=1e-9)
    batch = np.stack([R_from @ swing @ turn, R_from @ turn])  # (K, 3, 3) at once
    np.testing.assert_allclose(without_turn(R_from, batch, axis), np.stack([R_from @ swing, R_from]), atol=1e-9)
