"""The node's OpenMP threads wait passively (GOMP_SPINCOUNT 0), set before torch loads; a user's policy is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


def _omp_env_at_load(extra: dict[str, str]) -> str:
    """The OpenMP runtime's own report of its settings (OMP_DISPLAY_ENV) when ``fpose_ros.node`` is imported."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | {"OMP_DISPLAY_ENV": "VERBOSE", **extra}
    done = subprocess.run([sys.executable, "-c", "import fpose_ros.node, torch; torch.ones(64).sum()"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_importing_the_node_makes_openmp_wait_passively() -> None:
    assert "GOMP_SPINCOUNT = '0'" in _omp_env_at_load({})


def test_a_policy_the_user_set_is_kept() -> None:
    shown = _omp_env_at_load({"OMP_WAIT_POLICY": "ACTIVE"})
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in shown and "GOMP_SPINCOUNT = '0'" not in shown
