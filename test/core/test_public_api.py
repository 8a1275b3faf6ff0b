"""``fpose_ros.core`` and its subpackages declare their public API in ``__all__``, and every name in it exists.

Also the PEP 561 marker: the package ships ``py.typed`` so that type checkers read its annotations.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import fpose_ros
import fpose_ros.core

CORE = Path(fpose_ros.core.__file__).parent
PACKAGES = ["fpose_ros.core", *sorted(f"fpose_ros.core.{info.name}" for info in pkgutil.iter_modules([str(CORE)])
                                      if info.ispkg)]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_existing_public_names_once(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    assert not [item for item in exported if item.startswith("_")], f"{name}.__all__ exports a private name"
    missing = [item for item in exported if not hasattr(package, item)]
    assert not missing, f"{name}.__all__ names what the package does not define: {missing}"
    # Everything exported is the package's own (defined under it), not a re-exported third-party object.
    foreign = [item for item in exported if not isinstance(getattr(package, item), int | str)
               and not getattr(getattr(package, item), "__module__", name).startswith(name)]
    assert not foreign, f"{name}.__all__ exports objects defined elsewhere: {foreign}"


def test_star_import_gives_exactly_the_public_api() -> None:
    namespace: dict[str, object] = {}
    exec("from fpose_ros.core import *", namespace)  # the statement under test
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(fpose_ros.core.__all__)


def test_the_engine_entry_points_are_public() -> None:
    for item in ("build_estimator", "PoseEstimator", "EstimatorConfig", "ObjectTracker", "LossCriteria",
                 "load_object_model", "RGBDFrame", "PoseResult", "InputError", "ConfigError"):
        assert item in fpose_ros.core.__all__


def test_package_is_marked_typed() -> None:
    assert (Path(fpose_ros.__file__).parent / "py.typed").is_file()
