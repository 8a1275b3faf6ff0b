"""``launch_testing``: ``launch/fpose.launch.py`` starts a working ``fpose_node`` and stops it cleanly.

Runs where ROS 2 ``launch_testing`` and ``launch_ros`` are installed and ``fpose_ros`` is built into the
ament prefix (``colcon build`` + ``source install/setup.bash``): either ``pytest`` (launch_testing's pytest
plugin collects the module) or ``launch_test test/launch/test_fpose_launch_testing.py``. Without those
packages the module is skipped at import, before anything that needs them; with them but without the built
package, pytest skips the launch test.

The launch file is the repository's (not an installed copy), started with a generated box mesh, rviz off
and the inputs remapped to a RealSense's topic names, as a user would run it. Active tests look at the
node from a separate rclpy context: its outputs, its ``~/reset`` service and the remapped inputs. After
shutdown (SIGINT from launch), every process must have exited with code 0.
"""

from __future__ import annotations

import tempfile
import time
import unittest
from pathlib import Path

import pytest

LAUNCH_SKIP = ("needs the ROS 2 'launch_testing' and 'launch_ros' packages "
               "(a ROS 2 distro; on no registry reachable here)")
pytest.importorskip("launch_testing.actions", reason=LAUNCH_SKIP)
pytest.importorskip("launch_ros.actions", reason=LAUNCH_SKIP)
packages = pytest.importorskip("ament_index_python.packages", reason=LAUNCH_SKIP)


def _installed_executable() -> Path | None:
    try:
        executable = Path(packages.get_package_prefix("fpose_ros")) / "lib" / "fpose_ros" / "fpose_node"
    except (packages.PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH not set
        return None
    return executable if executable.is_file() else None


# Imports below follow the skips: without ROS 2, `import launch` finds the repository's launch/ folder.
import launch_testing  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import rclpy  # noqa: E402
import trimesh  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

import launch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fpose_launch_test"
NODE = f"/{NAMESPACE}/fpose_node"
REMAPS = {
    "color_topic": "/camera/camera/color/image_raw",
    "depth_topic": "/camera/camera/aligned_depth_to_color/image_raw",
    "camera_info_topic": "/camera/camera/color/camera_info",
    "mask_topic": "/segmenter/mask",
}
OUTPUTS = {f"/{NAMESPACE}/pose": "geometry_msgs/msg/PoseStamped",
           f"/{NAMESPACE}/status": "fpose_ros/msg/TrackingStatus"}
RESET = f"{NODE}/reset"
STARTUP_S = 60.0  # importing torch and loading the mesh on a small CPU


# Marks of the entry point become the launch test's marks (launch_testing's pytest plugin). A skip here, not
# at import: the plugin imports the module while collecting the folder, where a skip would skip the whole folder.
@pytest.mark.skipif(_installed_executable() is None,
                    reason="fpose_ros is not built into the ament prefix (lib/fpose_ros/fpose_node): colcon build the "
                           "package and source install/setup.bash")
@pytest.mark.launch_test
@pytest.mark.launch
@pytest.mark.ros
@pytest.mark.slow
def generate_test_description() -> tuple[launch.LaunchDescription, dict[str, object]]:
    """fpose.launch.py with a 10 cm box (millimetre units), rviz off and a RealSense's topic names."""
    mesh_dir = tempfile.TemporaryDirectory(prefix="fpose_launch_test_")  # removed when garbage-collected
    mesh = Path(mesh_dir.name) / "box.ply"
    trimesh.creation.box(extents=(100.0, 60.0, 40.0)).export(mesh)
    fpose = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(REPO / "launch" / "fpose.launch.py")),
        launch_arguments={"mesh_file": str(mesh), "mesh_scale": "0.001", "namespace": NAMESPACE, "rviz": "false",
                          **REMAPS}.items(),
    )
    description = launch.LaunchDescription([fpose, launch_testing.actions.ReadyToTest()])
    return description, {"mesh_dir": mesh_dir}


def _wait_for(condition, what: str, timeout_s: float = STARTUP_S):
    """Poll ``condition()`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout_s:.0f} s")


class TestNodeInterface(unittest.TestCase):
    """While the launch runs: what a ROS user sees of the node."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.probe = rclpy.create_node("fpose_launch_test_probe", context=cls.context)
        cls.executor = SingleThreadedExecutor(context=cls.context)
        cls.executor.add_node(cls.probe)
        _wait_for(lambda: ("fpose_node", "/" + NAMESPACE) in cls.probe.get_node_names_and_namespaces(),
                  f"{NODE} did not appear")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.executor.shutdown()
        cls.probe.destroy_node()
        rclpy.shutdown(context=cls.context)

    def test_advertises_pose_and_status(self) -> None:
        def advertised() -> dict[str, list[str]]:
            topics = dict(self.probe.get_publisher_names_and_types_by_node("fpose_node", "/" + NAMESPACE))
            return topics if set(OUTPUTS) <= set(topics) else {}

        topics = _wait_for(advertised, f"{NODE} did not advertise {sorted(OUTPUTS)}")
        for topic, message_type in OUTPUTS.items():
            self.assertIn(message_type, topics[topic])

    def test_subscribes_to_the_remapped_inputs(self) -> None:
        def subscribed() -> set[str]:
            topics = {name for name, _ in self.probe.get_subscriber_names_and_types_by_node("fpose_node",
                                                                                             "/" + NAMESPACE)}
            return topics if set(REMAPS.values()) <= topics else set()

        topics = _wait_for(subscribed, f"{NODE} did not subscribe to {sorted(REMAPS.values())}")
        # The launch arguments replace the default names: nothing is left on the unremapped ones.
        self.assertFalse({f"/{NAMESPACE}/color/image_raw", f"/{NAMESPACE}/mask"} & topics)

    def test_reset_service_answers(self) -> None:
        from std_srvs.srv import Trigger

        client = self.probe.create_client(Trigger, RESET)
        try:
            self.assertTrue(client.wait_for_service(timeout_sec=STARTUP_S), f"{RESET} is not offered")
            future = client.call_async(Trigger.Request())
            rclpy.spin_until_future_complete(self.probe, future, executor=self.executor, timeout_sec=10.0)
            self.assertTrue(future.done(), f"{RESET} did not answer")
            self.assertTrue(future.result().success)
            self.assertIn("re-registers", future.result().message)
        finally:
            self.probe.destroy_client(client)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """After launch stops the processes (SIGINT)."""

    def test_processes_exit_cleanly(self, proc_info) -> None:
        launch_testing.asserts.assertExitCodes(proc_info)

    def test_only_the_node_ran_with_rviz_off(self, proc_info) -> None:
        names = proc_info.process_names()
        self.assertEqual(len(names), 1, names)
        self.assertIn("fpose_node", names[0])
