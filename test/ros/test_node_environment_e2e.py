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

from fpose_ros.replay import NodeProcess, ReplaySession, TopicPlan, ros_environment
from fpose_ros.ros.stream_messages import StreamTopics

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_node_starts_from_a_foreign_parent_environment(tmp_path: Path) -> None:
    mesh = tmp_path / "box.ply"
    trimesh.creation.box(extents=(0.05, 0.04, 0.03)).export(mesh)
    foreign_lib = tmp_path / "other_env_lib"
    foreign_lib.mkdir()
    env = ros_environment()
    env["_ROS_WHEELS_BOOTSTRAP_COMPLETE"] = "1"
    env["LD_LIBRARY_PATH"] = str(foreign_lib)
    topics = StreamTopics()
    plan = TopicPlan({"color/image_raw": topics.color, "depth/image_raw": topics.depth,
                      "color/camera_info": topics.camera_info, "mask": topics.mask}, gt_topic=None)
    node = NodeProcess(["--ros-args", "-p", f"mesh_file:={mesh}",
                        *(arg for name, topic in plan.inputs.items() for arg in ("-r", f"{name}:={topic}"))],
                       tmp_path / "node.log", env)
    session = ReplaySession(plan, None, "reliable")
    try:
        session.wait_for_node(node, 120.0)
        running = not node.exited()
    finally:
        session.close()
        returncode = node.stop()
    log = node.log_path.read_text(errors="replace")
    assert running, log
    assert "ImportError" not in log and "cannot open shared object file" not in log, log
    assert returncode == 0, log
