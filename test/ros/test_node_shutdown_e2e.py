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

from fpose_ros.replay import NodeProcess, ReplaySession, TopicPlan, ros_environment
from fpose_ros.ros.stream_messages import StreamTopics

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_node_exits_zero_without_traceback(tmp_path: Path, stop_signal: signal.Signals) -> None:
    mesh = tmp_path / "box.ply"
    trimesh.creation.box(extents=(0.05, 0.04, 0.03)).export(mesh)
    topics = StreamTopics()
    plan = TopicPlan({"color/image_raw": topics.color, "depth/image_raw": topics.depth,
                      "color/camera_info": topics.camera_info, "mask": topics.mask}, gt_topic=None)
    node = NodeProcess(["--ros-args", "-p", f"mesh_file:={mesh}",
                        *(arg for name, topic in plan.inputs.items() for arg in ("-r", f"{name}:={topic}"))],
                       tmp_path / "node.log", ros_environment())
    session = ReplaySession(plan, None, "reliable")
    try:
        session.wait_for_node(node, 120.0)
        node.process.send_signal(stop_signal)
        returncode = node.process.wait(timeout=15.0)
    except subprocess.TimeoutExpired:
        returncode = None
    finally:
        session.close()
        node.stop()
    log = node.log_path.read_text(errors="replace")
    assert returncode == 0, log
    assert "Traceback" not in log, log
