"""Test-wide environment: an isolated DDS domain per test session, localhost only; launch_testing's plugin.

The environment is set before any test initialises rclpy, and inherited by the node processes tests start.

launch_testing's pytest plugin is disabled at start-up (``-p no:launch_testing`` in pyproject.toml): on
pytest 9 its hook signature fails pytest's validation and would stop every run before collection
(ros2/launch#979). It is registered here instead where it validates; where it does not, the launch tests
are skipped with the validation error as the reason.
"""

import importlib
import os
from pathlib import Path

import pluggy
import pytest

from fpose_ros.ros.launch_environment import set_fastdds_profile

REPO = Path(__file__).resolve().parents[1]

# A domain of its own keeps parallel runs (and a developer's running nodes) from cross-talk.
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# Camera-sized images need a larger shared-memory segment than Fast DDS's default; under the name this
# environment's Fast DDS reads (the user's profile, under either name, is kept).
set_fastdds_profile(os.environ, str(REPO / "config" / "fastdds_large_images.xml"))

#: Why launch_testing's pytest plugin is not active ("" while it is, or before pytest_configure).
LAUNCH_TESTING_UNAVAILABLE = ""


def pytest_configure(config: pytest.Config) -> None:
    global LAUNCH_TESTING_UNAVAILABLE
    try:
        hooks = importlib.import_module("launch_testing.pytest.hooks")
    except ImportError as exc:
        LAUNCH_TESTING_UNAVAILABLE = f"launch_testing is not installed ({exc})"
        return
    try:
        # Not the entry point's name: that one is blocked by -p no:launch_testing.
        config.pluginmanager.register(hooks, "launch_testing_checked")
    except pluggy.PluginValidationError as exc:
        LAUNCH_TESTING_UNAVAILABLE = (f"launch_testing's pytest plugin does not load on pytest "
                                      f"{pytest.__version__}: {exc}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the plugin, pytest collects a launch test module's unittest classes as plain tests: skip them."""
    if not LAUNCH_TESTING_UNAVAILABLE:
        return
    skip = pytest.mark.skip(reason=LAUNCH_TESTING_UNAVAILABLE)
    for item in items:
        entry_point = getattr(getattr(item, "module", None), "generate_test_description", None)
        if any(mark.name == "launch_test" for mark in getattr(entry_point, "pytestmark", [])):
            item.add_marker(skip)
