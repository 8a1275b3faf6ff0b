"""Synthetic objects: asymmetric, plausible sizes, disjoint splits, known YCB names."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from fpose_ros.core.errors import MeshError
from fpose_ros.core.synthetic.assets import ASSET_SPLITS, load_asset


@pytest.mark.parametrize("name", ["proc:1", "proc:2", "proc:3", "ycb:003_cracker_box"])
def test_size_is_plausible(name):
    assert 0.05 <= load_asset(name).diameter <= 0.4


@pytest.mark.parametrize("name", ["proc:1", "proc:2", "proc:3", "proc:4", "proc:5"])
def test_procedural_objects_have_no_half_turn_symmetry(name):
    model = load_asset(name)
    tree = cKDTree(model.surface_points)
    for axis in np.eye(3):
        flipped = Rotation.from_rotvec(np.pi * axis).apply(model.surface_points)
        distance, _ = tree.query(flipped)
        assert np.mean(distance) > 0.005, f"{name} looks the same after a half turn about {axis}"


def test_splits_are_disjoint_and_loadable():
    assert not set(ASSET_SPLITS["train"]) & set(ASSET_SPLITS["heldout"])
    with pytest.raises(MeshError, match="no YCB scan"):
        load_asset("ycb:999_nothing")
    with pytest.raises(MeshError, match="unknown asset"):
        load_asset("cube")
