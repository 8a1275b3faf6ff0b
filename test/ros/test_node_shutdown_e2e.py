"""``fpose_node`` (its own process) stops cleanly on SIGINT and SIGTERM: exit code 0, no traceback.

``ros2 launch`` stops its processes with SIGINT and escalates to SIGTERM; a launch that ends with a
traceback or a nonzero exit code reports the node as failed.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import trimesh

from fpose_ros.evaluation.node_process import node_session
from fpose_ros.ros.node_topics import stream_plan

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_node_exits_zero_without_traceback(tmp_path: Path, stop_signal: signal.Signals) -> None:
    mesh = tmp_path / "box.ply"
    trimesh.creation.box(extents=(0.05, 0.04, 0.03)).export(mesh)
    with node_session(mesh, stream_plan(), tmp_path / "node.log") as (node, _):
        node.process.send_signal(stop_signal)
        try:
            returncode = node.process.wait(timeout=15.0)
        except subprocess.TimeoutExpired:
            returncode = None
    log = node.log_path.read_text(errors="replace")
    assert returncode == 0, log
    assert "Traceback" not in log, log
