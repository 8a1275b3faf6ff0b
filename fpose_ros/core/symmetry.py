"""The symmetries a user declares for an object, as Isaac ROS FoundationPose takes them, and their uses.

Convention (``isaac_ros_foundationpose`` 3.2+, its ``FoundationposeSampling`` component):

* ``symmetry_axes``: strings ``"<axis>_<angle>"``: ``axis`` is ``x``, ``y`` or ``z`` of the mesh file's
  own frame, the angle in degrees (``"z_180"``, ``"x_90"``) or ``full`` for any angle (``"z_full"``: a
  plain can or bottle). The axes pass through the centre of the mesh's bounding box (Isaac ROS centres
  the mesh there, as the engine's centred frame does), parallel to the mesh frame's axes.
* ``symmetry_planes`` (deprecated there, kept for its users): ``"x"``, ``"y"``, ``"z"``, each the same as
  ``"<axis>_180"`` (a half turn about that axis, not a mirror image).

The object must look the same (shape and print) after each declared turn. Unlike Isaac ROS, which
adds just the listed angle, the declared turns are closed into the group they generate (an object
that looks the same after 90 deg does after 180 and 270 too), so an angle must divide 360.

The engine uses the group (:class:`Symmetry`) to treat equivalent poses as one: hypothesis pruning
(:func:`prune_equivalent`), the tracking jump check and the published pose
(:func:`closest_equivalent`); ``ObjectModel.symmetries`` holds its transforms, for ADD-S too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import ConfigError

_AXES = {"x": 0, "y": 1, "z": 2}
#: Step of the turns that stand for a continuous (``full``) symmetry in ``ObjectModel.symmetries``, degrees:
#: ADD-S over them is at most r (1 - cos 1.5 deg) ~ 0.03 % of the radius above the exact minimum.
FULL_TURN_STEP_DEG = 3.0
#: Most rotations a declared group may have (the octahedral group of a cube has 24).
_MAX_GROUP = 48
#: Rotations closer than this (Frobenius norm of the difference) are the same element of a group.
_SAME = 1e-6


@dataclass(frozen=True)
class Symmetry:
    """The rotations of the centred object frame that leave the object looking the same.

    Attributes:
        rotations: (G, 3, 3) float64, the finite part of the group, identity first.
        axis: (3,) float64 unit axis of a continuous symmetry (any turn about it), centred frame; None
            when there is none. Every rotation in ``rotations`` maps it to itself or its opposite.
    """

    rotations: np.ndarray
    axis: np.ndarray | None = None

    @property
    def is_trivial(self) -> bool:
        """True when only the identity leaves the object looking the same."""
        return len(self.rotations) == 1 and self.axis is None

    def transforms(self, full_turn_step_deg: float = FULL_TURN_STEP_DEG) -> np.ndarray:
        """(S, 4, 4) float64 rotations as transforms (identity first): a continuous axis sampled every step.

        ``S = G`` without a continuous axis, ``G * 360 / step`` with one (duplicates dropped).
        """
        rotations = self.rotations
        if self.axis is not None:
            angles = np.radians(np.arange(0.0, 360.0 - 1e-9, full_turn_step_deg))
            turns = Rotation.from_rotvec(angles[:, None] * self.axis[None]).as_matrix()  # (K, 3, 3)
            rotations = _unique(np.einsum("kij,gjl->gkil", turns, rotations).reshape(-1, 3, 3))
        T = np.tile(np.eye(4), (len(rotations), 1, 1))
        T[:, :3, :3] = rotations
        return T


def symmetry_problem(entries: Sequence[str], planes: bool = False) -> str | None:
    """None when every entry of a ``symmetry_axes`` (``planes``: ``symmetry_planes``) list is well formed.

    Otherwise what is wrong, as "must be ..." for the parameter's message. Whether the entries together
    make a group is :func:`parse_symmetry`'s check.
    """
    for entry in entries:
        problem = _plane_problem(entry) if planes else _axis_problem(entry)
        if problem:
            return f"must be a list of {_PLANE_FORM if planes else _AXIS_FORM}: {problem}"
    return None


def parse_symmetry(axes: Sequence[str] = (), planes: Sequence[str] = ()) -> Symmetry:
    """The group that ``symmetry_axes`` and ``symmetry_planes`` declare (see the module docstring).

    Raises:
        ConfigError: an entry is not of the form ``"<x|y|z>_<degrees|full>"`` (``"<x|y|z>"`` for a plane),
            an angle does not divide 360, two axes are ``full`` (a sphere: no pose to tell), or the turns
            together make no finite group about the continuous axis (the message names the entries).
    """
    problem = symmetry_problem(axes) or symmetry_problem(planes, planes=True)
    if problem:
        raise ConfigError(f"symmetry_axes={list(axes)!r}, symmetry_planes={list(planes)!r}: {problem}")
    entries = [*axes, *(f"{p.strip()}_180" for p in planes)]
    full = sorted({e.strip().split("_")[0] for e in entries if e.strip().endswith("_full")})
    if len(full) > 1:
        raise ConfigError(f"symmetry_axes {entries!r}: full turns about more than one axis ({', '.join(full)}) "
                          "would make every orientation the same; the engine has nothing to estimate")
    generators = [_turn(e) for e in entries if not e.strip().endswith("_full")]
    rotations = _closure(generators, entries)
    axis = np.eye(3)[_AXES[full[0]]] if full else None
    if axis is not None:
        kept = [R for R in rotations if abs(float(axis @ R @ axis)) > 1.0 - 1e-6]
        if len(kept) < len(rotations):
            raise ConfigError(f"symmetry_axes {entries!r}: a turn that moves the {full[0]} axis, with any turn "
                              f"about {full[0]} ({full[0]}_full), makes a sphere-like object; declare only half "
                              f"turns about an axis across {full[0]} (e.g. the flip of a can)")
        # Turns about the continuous axis itself add nothing to it.
        rotations = _unique(without_turn(np.eye(3), rotations, axis))
    return Symmetry(rotations=rotations, axis=axis)


def closest_equivalent(T_ref: np.ndarray, T: np.ndarray, symmetries: np.ndarray,
                       axis: np.ndarray | None = None) -> np.ndarray:
    """Of the poses equivalent to ``T`` (``T @ S`` for S in ``symmetries``), the one nearest ``T_ref``.

    Nearest in rotation (geodesic angle); the translation of a rotation about the centred origin is
    ``T``'s. With a continuous ``axis``, each candidate is turned about it to match ``T_ref`` exactly
    (swing-twist split), so the choice does not step with the sampling of ``symmetries``.

    Args:
        T_ref: (4, 4) the reference pose (the last published one).
        T: (4, 4) a pose of the centred object frame.
        symmetries: (S, 4, 4) transforms of the centred frame (``ObjectModel.symmetries``).
        axis: (3,) unit continuous symmetry axis in the centred frame, or None.

    Returns:
        (4, 4) float64. O(S).
    """
    candidates = np.einsum("ij,sjk->sik", np.asarray(T, dtype=np.float64), np.asarray(symmetries, np.float64))
    if axis is not None:
        candidates[:, :3, :3] = without_turn(T_ref[:3, :3], candidates[:, :3, :3], axis)
    # trace(A^T B) grows as the angle between A and B shrinks.
    closeness = np.einsum("ij,sij->s", T_ref[:3, :3], candidates[:, :3, :3])
    return candidates[int(np.argmax(closeness))]


def prune_equivalent(rotations: torch.Tensor, symmetries: np.ndarray, max_angle_deg: float) -> torch.Tensor:
    """Hypothesis rotations less those equivalent to an earlier one under the object's symmetries.

    ``R_j`` is dropped when ``R_j S`` lies within ``max_angle_deg`` of a kept ``R_i`` for a symmetry
    ``S`` other than the identity (greedy, in order; as Isaac ROS clusters its hypotheses). Without
    symmetries (only the identity) nothing is dropped, so the default hypotheses do not change.

    Args:
        rotations: (N, 3, 3) ``R_cam_centered`` hypotheses.
        symmetries: (S, 4, 4) transforms of the centred frame, identity first.
        max_angle_deg: largest angle between equivalent hypotheses, degrees (about half the grid's spacing).

    Returns:
        (M, 3, 3) the kept rotations, in their order, same dtype and device. O(N M S).
    """
    sym = np.asarray(symmetries, dtype=np.float64)[1:, :3, :3]
    if len(sym) == 0:
        return rotations
    R = rotations.detach().cpu().to(torch.float64).numpy()
    images = np.einsum("nij,sjk->nsik", R, sym)  # (N, S-1, 3, 3)
    # Angle below the limit <=> trace(R_i^T R_j S) above 1 + 2 cos(limit).
    limit = 1.0 + 2.0 * math.cos(math.radians(max_angle_deg))
    kept: list[int] = []
    for j in range(len(R)):
        if kept and (np.einsum("kab,sab->ks", R[kept], images[j]) > limit).any():
            continue
        kept.append(j)
    return rotations[torch.as_tensor(kept, device=rotations.device)]


_AXIS_FORM = "'<x|y|z>_<degrees>' or '<x|y|z>_full' (e.g. 'z_180', 'z_full')"
_PLANE_FORM = "'x', 'y' or 'z'"


def _axis_problem(entry: object) -> str | None:
    if not isinstance(entry, str):
        return f"{entry!r} is not a string"
    axis, sep, angle = entry.strip().partition("_")
    if not sep or axis not in _AXES:
        return f"{entry!r} does not start with x_, y_ or z_"
    if angle == "full":
        return None
    try:
        degrees = float(angle)
    except ValueError:
        return f"{entry!r}: '{angle}' is neither a number of degrees nor 'full'"
    if not math.isfinite(degrees) or degrees <= 0 or degrees >= 360:
        return f"{entry!r}: the angle must be in (0, 360) degrees"
    folds = 360.0 / degrees
    if abs(folds - round(folds)) > 1e-6:
        # Turns by it generate the turns by gcd(angle, 360) (in thousandths of a degree).
        step = math.gcd(round(degrees * 1000), 360_000) / 1000
        return f"{entry!r}: {degrees:g} deg does not divide 360 (an object that looks the same after it does " \
               f"after {step:g} deg: '{axis}_{step:g}', or after any turn: '{axis}_full')"
    return None


def _plane_problem(entry: object) -> str | None:
    if not isinstance(entry, str) or entry.strip() not in _AXES:
        return f"{entry!r} is not x, y or z"
    return None


def _turn(entry: str) -> np.ndarray:
    """(3, 3) rotation of a well-formed ``"<axis>_<degrees>"`` entry."""
    axis, _, angle = entry.strip().partition("_")
    return Rotation.from_rotvec(math.radians(float(angle)) * np.eye(3)[_AXES[axis]]).as_matrix()


def _closure(generators: list[np.ndarray], entries: list[str]) -> np.ndarray:
    """(G, 3, 3) the finite group the (3, 3) ``generators`` generate, identity first.

    Raises:
        ConfigError: more than ``_MAX_GROUP`` elements (turns about different axes by angles no object
            shares, e.g. 30 deg about x and y, generate no finite group).
    """
    group = [np.eye(3)]
    frontier = [np.eye(3)]
    while frontier:
        new = []
        for A in frontier:
            for B in generators:
                C = A @ B
                if not any(np.linalg.norm(C - D) < _SAME for D in group):
                    group.append(C)
                    new.append(C)
                    if len(group) > _MAX_GROUP:
                        raise ConfigError(f"symmetry_axes {entries!r}: these turns together generate more than "
                                          f"{_MAX_GROUP} orientations (no finite symmetry group of an object); "
                                          "check the axes and angles")
        frontier = new
    return np.stack(group)


def _unique(rotations: np.ndarray) -> np.ndarray:
    """(K, 3, 3) rotations without repeats, first occurrences in order."""
    kept: list[np.ndarray] = []
    for R in rotations:
        if not any(np.linalg.norm(R - K) < 1e-5 for K in kept):
            kept.append(R)
    return np.stack(kept)


def without_turn(R_from: np.ndarray, R_to: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``R_to`` ((3, 3) or (K, 3, 3)) less its turn about unit ``axis`` (3,) relative to ``R_from`` (3, 3).

    Swing-twist split of the relative rotation ``R_from^T R_to`` = swing x twist (twist about ``axis``);
    returns ``R_from @ swing``: the same axis direction as ``R_to``, the turn about it as ``R_from``'s (the
    rotation nearest ``R_from`` among ``R_to``'s turns about the axis). Same shape as ``R_to``.
    """
    relative = Rotation.from_matrix(R_from.T @ R_to).as_quat()  # (..., 4) x, y, z, w
    twist = 2.0 * np.arctan2(relative[..., :3] @ axis, relative[..., 3])
    return R_to @ Rotation.from_rotvec(np.multiply.outer(-twist, axis)).as_matrix()
