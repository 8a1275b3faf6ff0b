"""``fpose_node`` starts whatever environment its parent process had (issue 13 #5).

A parent from another Python environment that also uses the ROS wheels (a test harness, a launcher)
passes on the wheels' bootstrap guard ``_ROS_WHEELS_BOOTSTRAP_COMPLETE`` and its own
``LD_LIBRARY_PATH``; the venv must still load the interface libraries that ``make setup`` built
into its own ``lib/`` (``scripts/setup_env.sh`` writes ``fpose_library_path.pth`` for that).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh

from fpose_ros.evaluation.node_process import node_session, ros_environment
from fpose_ros.ros.node_topics import stream_plan

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_node_starts_from_a_foreign_parent_environment(tmp_path: Path) -> None:
    mesh = tmp_path / "box.ply"
    trimesh.creation.box(extents=(0.05, 0.04, 0.03)).export(mesh)
    foreign_lib = tmp_path / "other_env_lib"
    foreign_lib.mkdir()
    env = ros_environment()
    env["_ROS_WHEELS_BOOTSTRAP_COMPLETE"] = "1"
    env["LD_LIBRARY_PATH"] = str(foreign_lib)
    with node_session(mesh, stream_plan(), tmp_path / "node.log", env=env) as (node, _):
        running = not node.exited()
    returncode = node.process.returncode
    log = node.log_path.read_text(errors="replace")
    assert running, log
    assert "ImportError" not in log and "cannot open shared object file" not in log, log
    assert returncode == 0, log
