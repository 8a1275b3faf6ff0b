"""Synthetic objects: asymmetric, plausible sizes, disjoint splits, known YCB names."""

import pytest
import trimesh

from fpose_ros.core.errors import MeshError
from fpose_ros.core.synthetic.assets import ASSET_SPLITS, MIN_ASYMMETRY, half_turn_asymmetry, load_asset


@pytest.mark.parametrize("name", ["proc:1", "proc:2", "proc:3", "ycb:003_cracker_box"])
def test_size_is_plausible(name):
    assert 0.05 <= load_asset(name).diameter <= 0.4


@pytest.mark.parametrize("name", ["proc:1", "proc:2", "proc:3", "proc:4", "proc:5"])
def test_procedural_objects_have_no_half_turn_symmetry(name):
    model = load_asset(name)
    # The generator measures against the bounding-box diagonal, which is at least the diameter.
    assert half_turn_asymmetry(model.surface_points, model.diameter) >= MIN_ASYMMETRY


def test_asymmetry_measure_sees_a_symmetric_box():
    box = trimesh.creation.box(extents=(0.1, 0.06, 0.04))
    points = trimesh.sample.sample_surface(box, 2048, seed=0)[0]
    assert half_turn_asymmetry(points, 0.1) < 0.5 * MIN_ASYMMETRY  # only the sampling spacing remains


def test_splits_are_disjoint_and_loadable():
    assert not set(ASSET_SPLITS["train"]) & set(ASSET_SPLITS["heldout"])
    with pytest.raises(MeshError, match="no YCB scan"):
        load_asset("ycb:999_nothing")
    with pytest.raises(MeshError, match="unknown asset"):
        load_asset("cube")
