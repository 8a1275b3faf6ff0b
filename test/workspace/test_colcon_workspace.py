"""A ROS 2 workspace build: the README's build-and-run commands, run as they are, with colcon.

The README's "Use in a ROS 2 workspace" section has one code block marked ``workspace-check``; this test
runs it line by line in one bash process, as a user would type it after the install steps:

* the underlay is this venv's ROS 2 wheels (``AMENT_PREFIX_PATH``/``CMAKE_PREFIX_PATH``, its ``bin/`` first on
  ``PATH``) in place of ``source /opt/ros/<distro>/setup.bash``; colcon comes from PyPI (a tool venv that
  ``make setup`` creates, so that colcon's pytest plugins stay out of the test venv);
* ``HOME`` is a temporary directory whose ``ros2_ws/src/fpose_ros`` is a copy of this repository (the files
  git tracks or would track), and ``MESH`` the mesh of the stream's object;
* the last line starts ``install/fpose_ros/lib/fpose_ros/fpose_node`` from the sourced install space. A short
  synthetic stream is published on its default topics; it must publish poses, and exit 0 on SIGINT sent to
  the whole process group (as Ctrl-C in a terminal does), which makes bash end with the node's exit code.

That the node runs from the install space, not from this repository, is checked on the node process
itself: the compiled half of ``fpose_ros.msg`` it has loaded (``/proc/<pid>/maps``) lies under
``install/``. The hand-written package is merged into that same directory, and every module of the
repository must be installed there unchanged, so nothing can be picked up from the repository instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.node_process import NodeProcess
from fpose_ros.ros.make_bag import sequence_frames
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.replay_session import ReplaySession
from fpose_ros.ros.stream_messages import StreamTopics, stream_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
COLCON = VENV / "tools" / "colcon" / "bin" / "colcon"
MARKER = "<!-- workspace-check"
# colcon build (rosidl generation, a C compile) plus the node's start-up (torch, the mesh) on a loaded CPU.
BUILD_AND_START_S = 900.0
# The node's default input topics (no remapping in the README's command), in the root namespace.
TOPICS = StreamTopics(color="/color/image_raw", depth="/depth/image_raw", camera_info="/color/camera_info",
                      mask="/mask")


def readme_commands(readme: str) -> list[str]:
    """The lines of the README's code block that follows the ``workspace-check`` marker."""
    assert readme.count(MARKER) == 1, f"README.md needs exactly one '{MARKER} ...' marker"
    after = readme[readme.index(MARKER):]
    block = re.search(r"```bash\n(.*?)```", after, re.DOTALL)
    assert block is not None and after[:block.start()].count("\n") == 1, \
        "the workspace-check marker must be the line right before a ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def repository_files() -> list[str]:
    """The repository's files as a fresh clone would have them (tracked, or untracked and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            check=True, capture_output=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def underlay_environment(home: Path) -> dict[str, str]:
    """This environment with the venv's ROS 2 wheels as the underlay, colcon on PATH and ``HOME`` at ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLCON_PREFIX_PATH")}
    env.update(HOME=str(home), AMENT_PREFIX_PATH=str(VENV), CMAKE_PREFIX_PATH=str(VENV),
               PATH=os.pathsep.join([str(VENV / "bin"), env.get("PATH", ""), str(COLCON.parent)]))
    return env


def node_pid(shell_pid: int) -> int | None:
    """The pid of the shell's child process (the node), or None while it has none."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == shell_pid:
            return int(stat.parent.name)
    return None


@dataclass
class WorkspaceRun:
    home: Path
    commands: list[str]
    returncode: int | None
    log: str
    poses: int  # poses the node published on the stream
    typesupport: list[str]  # paths of fpose_ros's compiled message module the node process had loaded

    @property
    def workspace(self) -> Path:
        return self.home / "ros2_ws"

    @property
    def site_packages(self) -> Path:
        return self.workspace / "install" / "fpose_ros" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" \
            / "site-packages"


@pytest.fixture(scope="module")
def workspace_run(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceRun:
    if not COLCON.is_file():
        pytest.fail(f"colcon is missing ({COLCON}); run `make setup`")
    home = tmp_path_factory.mktemp("home")
    source = home / "ros2_ws" / "src" / "fpose_ros"
    for name in repository_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((REPO / name).read_bytes())
    seq = render_sequence(small_spec(n_frames=30))
    mesh = home / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh)
    commands = readme_commands((REPO / "README.md").read_text())
    script = home / "workspace_check.bash"
    script.write_text("set -e\n" + "\n".join(commands) + "\n")

    env = underlay_environment(home)
    env["MESH"] = str(mesh)
    # The shell and the node form their own process group, stopped with SIGINT as Ctrl-C would.
    shell = NodeProcess([str(script)], home / "workspace_check.log", env, command=("bash",), process_group=True)
    session = ReplaySession(stream_plan(TOPICS), None, "reliable")
    typesupport: list[str] = []
    try:
        session.wait_for_node(shell, BUILD_AND_START_S)
        pid = node_pid(shell.process.pid)
        if pid is not None:
            maps = Path(f"/proc/{pid}/maps").read_text()
            typesupport = sorted({line.split()[-1] for line in maps.splitlines()
                                  if "/fpose_ros/fpose_ros_s__rosidl_typesupport" in line})
        session.play(stream_messages(sequence_frames(seq), seq.camera, fps=seq.spec.fps, topics=TOPICS))
        session.drain(30.0)
    finally:
        poses = sum(record.pose is not None for record in session.records({}))
        session.close()
        returncode = shell.stop(timeout_s=30.0)
    return WorkspaceRun(home, commands, returncode, shell.log_path.read_text(errors="replace"), poses, typesupport)


def test_readme_block_builds_and_starts_the_node(workspace_run: WorkspaceRun) -> None:
    assert any(line.startswith("colcon build") for line in workspace_run.commands)
    assert (workspace_run.workspace / "install" / "fpose_ros" / "lib" / "fpose_ros" / "fpose_node").is_file()
    assert workspace_run.typesupport, f"the node never loaded fpose_ros's messages:\n{workspace_run.log[-4000:]}"


def test_node_loads_fpose_ros_from_the_install_space(workspace_run: WorkspaceRun) -> None:
    installed = workspace_run.site_packages / "fpose_ros"
    assert all(Path(path).is_relative_to(installed) for path in workspace_run.typesupport), workspace_run.typesupport
    sources = [name for name in repository_files() if name.startswith("fpose_ros/")]
    missing_or_changed = [name for name in sources if not (workspace_run.site_packages / name).is_file()
                          or (workspace_run.site_packages / name).read_bytes() != (REPO / name).read_bytes()]
    assert not missing_or_changed, missing_or_changed
    assert (installed / "msg" / "__init__.py").is_file(), "the generated fpose_ros.msg is not installed"


def test_node_publishes_poses_and_exits_zero_on_sigint(workspace_run: WorkspaceRun) -> None:
    assert workspace_run.poses >= 1, workspace_run.log[-4000:]
    assert workspace_run.returncode == 0, workspace_run.log[-4000:]
    assert "Traceback" not in workspace_run.log, workspace_run.log[-4000:]


def test_launch_files_resolve_the_installed_node(workspace_run: WorkspaceRun) -> None:
    """Where ROS 2 ``launch_ros`` is importable: the installed launch files load and name the installed node."""
    # A submodule first: without ROS 2, a bare `import launch` finds the repository's launch/ folder (on sys.path
    # through the editable install) as a namespace package.
    script = """
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch import LaunchContext
from launch_ros.substitutions import ExecutableInPackage
from ament_index_python.packages import get_package_share_directory
print(ExecutableInPackage("fpose_node", "fpose_ros").perform(LaunchContext()))
share = get_package_share_directory("fpose_ros")
for name in ("fpose.launch.py", "realsense.launch.py"):
    PythonLaunchDescriptionSource(share + "/launch/" + name).try_get_launch_description_without_context()
"""
    probe = subprocess.run(["bash", "-c", 'source install/setup.bash && exec python3 -c "$0"', script],
                           cwd=workspace_run.workspace, capture_output=True, text=True, timeout=120,
                           env=underlay_environment(workspace_run.home))
    if "No module named 'launch" in probe.stderr:
        pytest.skip("needs the ROS 2 'launch' and 'launch_ros' packages (a ROS 2 distro; on no registry reachable "
                    "here)")
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.split()[0]) == workspace_run.workspace / "install" / "fpose_ros" / "lib" / "fpose_ros" \
        / "fpose_node"
