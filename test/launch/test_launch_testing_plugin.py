"""A launch_testing pytest plugin that fails pytest's hook validation cannot stop a test run.

The test double is a ``launch_testing`` package installed through a ``pytest11`` entry point, as the real
one is, in a scratch site directory. Its hook either has the signature pytest 9 rejects (``path``, as in
ros2/launch#979) or a valid one. A pytest run in a scratch folder, with this repository's conftest and
pytest options, must finish either way: the launch test module is skipped with the validation error as
the reason, or runs when the plugin loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

LAUNCH_TEST_MODULE = '''
import unittest

import pytest


@pytest.mark.launch_test
def generate_test_description():
    return None


class TestSomething(unittest.TestCase):
    def test_runs(self):
        pass
'''


def _run_with_plugin(tmp_path: Path, hook_arguments: str,
                     project_options: bool = True) -> subprocess.CompletedProcess[str]:
    """Pytest in a scratch project with the launch_testing double; ``project_options``: this repository's addopts."""
    site = tmp_path / "site"
    hooks = site / "launch_testing" / "pytest"
    hooks.mkdir(parents=True)
    (site / "launch_testing" / "__init__.py").write_text("")
    (hooks / "__init__.py").write_text("")
    (hooks / "hooks.py").write_text(f"def pytest_pycollect_makemodule({hook_arguments}):\n    return None\n")
    dist_info = site / "launch_testing-0.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: launch_testing\nVersion: 0.0.0\n")
    (dist_info / "entry_points.txt").write_text("[pytest11]\nlaunch_testing = launch_testing.pytest.hooks\n")

    project = tmp_path / "project"
    (project / "test").mkdir(parents=True)
    (project / "test" / "conftest.py").write_text((REPO / "test" / "conftest.py").read_text())
    (project / "test" / "test_a_launch_test.py").write_text(LAUNCH_TEST_MODULE)
    (project / "pytest.ini").write_text("[pytest]\n")
    config = REPO / "pyproject.toml" if project_options else project / "pytest.ini"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "-c", str(config), "--rootdir", str(project), "-rs",
               "-p", "no:cacheprovider", "test"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_plugin_failing_validation_skips_launch_tests_with_reason(tmp_path: Path) -> None:
    result = _run_with_plugin(tmp_path, "path, parent")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "launch_testing's pytest plugin does not load" in result.stdout


def test_plugin_passing_validation_runs_launch_tests(tmp_path: Path) -> None:
    result = _run_with_plugin(tmp_path, "module_path, parent")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_without_the_project_options_the_plugin_stops_pytest(tmp_path: Path) -> None:
    """The double reproduces the upstream failure, so the two tests above show the options' effect."""
    result = _run_with_plugin(tmp_path, "path, parent", project_options=False)
    assert result.returncode != 0
    assert "PluginValidationError" in result.stdout + result.stderr
