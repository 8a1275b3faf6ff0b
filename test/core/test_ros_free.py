"""``fpose_ros.core`` stays ROS-free (numpy / torch / trimesh only): no module under it imports ROS."""

from __future__ import annotations

import ast
from pathlib import Path

import fpose_ros.core

CORE = Path(fpose_ros.core.__file__).parent
ROS_MODULES = ("rclpy", "rosidl_runtime_py", "rosbags", "cv_bridge", "tf2_ros", "message_filters",
               "sensor_msgs", "geometry_msgs", "std_msgs", "builtin_interfaces", "vision_msgs",
               "fpose_ros.ros", "fpose_ros.node", "fpose_ros.msg")


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (relative imports stay inside core)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def is_ros(module: str) -> bool:
    return any(module == ros or module.startswith(ros + ".") for ros in ROS_MODULES)


def test_is_ros_tells_ros_modules_apart() -> None:
    assert is_ros("rclpy.node") and is_ros("sensor_msgs.msg") and is_ros("fpose_ros.ros.node_config")
    assert not is_ros("rclpyx") and not is_ros("fpose_ros.core.metrics") and not is_ros("torch")


def test_no_module_under_core_imports_ros() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20  # the scan really sees the engine
    offenders = {str(f.relative_to(CORE)): sorted(filter(is_ros, imported_modules(f))) for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}
