"""``fpose_node`` as a child process: its environment (Fast DDS profile), start, log, stop like Ctrl-C.

Used by ``fpose-replay``, the live benchmark and soak, and the end-to-end tests (:func:`node_session`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from fpose_ros.ros.bag_io import BagWriter
from fpose_ros.ros.launch_environment import FASTDDS_PROFILE_VARIABLES, set_fastdds_profile
from fpose_ros.ros.node_topics import TopicPlan, node_arguments
from fpose_ros.ros.replay_session import ReplaySession

_REPO_ROOT = Path(__file__).resolve().parents[2]


def default_fastdds_profile() -> Path | None:
    """The project's Fast DDS profile for 640x480 images (source tree or installed share)."""
    candidates = [_REPO_ROOT / "config" / "fastdds_large_images.xml"]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("fpose_ros")) / "config" / "fastdds_large_images.xml")
    except (ImportError, LookupError, OSError):  # not installed as a ROS package
        pass
    return next((p for p in candidates if p.is_file()), None)


def ros_environment() -> dict[str, str]:
    """This process's environment with the large-image Fast DDS profile set (the user's, if they set one).

    The profile goes under the one name the installed Fast DDS reads, whichever name the user set it
    under (FASTRTPS_DEFAULT_PROFILES_FILE for Fast DDS 2, FASTDDS_DEFAULT_PROFILES_FILE for 3.x; see
    :func:`~fpose_ros.ros.launch_environment.fastdds_profile_variable`); the other name is removed.
    """
    env = dict(os.environ)
    found = default_fastdds_profile()
    set_fastdds_profile(env, None if found is None else str(found))
    return env


class NodeProcess:
    """fpose_node in its own process, its output in a log file; stopped with SIGINT like Ctrl-C.

    With ``process_group``, the command (e.g. a shell that starts the node) leads a process group of its
    own, and the signals go to the whole group, as Ctrl-C in a terminal sends SIGINT.
    """

    def __init__(self, arguments: list[str], log_path: Path, env: dict[str, str],
                 command: tuple[str, ...] = (sys.executable, "-m", "fpose_ros.node"),
                 process_group: bool = False) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._process_group = process_group
        # The venv's ROS bootstrapper re-executes Python once; the inherited environment already
        # carries its guard, so the node starts directly (same pid, no second start-up).
        self.process = subprocess.Popen([*command, *arguments], stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=process_group)

    def exited(self) -> bool:
        """True once the node process has ended."""
        return self.process.poll() is not None

    def log_tail(self, lines: int = 25) -> str:
        """The last ``lines`` lines of the node's log."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _signal(self, signum: signal.Signals) -> None:
        if self._process_group:
            with suppress(ProcessLookupError):  # the group ended meanwhile
                os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)

    def stop(self, timeout_s: float = 10.0) -> int:
        """Stop the node (SIGINT, then harder after ``timeout_s``); returns its exit code."""
        if self.process.poll() is None:
            self._signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode


@contextmanager
def node_session(mesh: Path | None, plan: TopicPlan, log_path: Path, *, mesh_scale: float = 1.0,
                 params: Sequence[str] = (), params_file: Path | None = None, writer: BagWriter | None = None,
                 env: dict[str, str] | None = None, publisher_qos: str = "reliable", startup_timeout_s: float = 120.0,
                 objects: Sequence[str] = ()) -> Iterator[tuple[NodeProcess, ReplaySession]]:
    """A fresh fpose_node for ``mesh`` fed from ``plan``'s topics, matched with a publishing session.

    ``mesh`` None: the objects come from ``params`` / ``params_file`` (``object_names``); name them in
    ``objects`` to have the session record each one's pose and status (and wait for the first one's).

    The node gets :func:`~fpose_ros.ros.node_topics.node_arguments` (``params`` as ``NAME:=VALUE``)
    and ``env`` (default :func:`ros_environment`); this process uses the same Fast DDS profile. The
    session records the node's outputs (into ``writer`` too, when given). Both are stopped on exit.

    Raises:
        ReplayError: the node exited or did not subscribe within ``startup_timeout_s``.
    """
    env = ros_environment() if env is None else env
    for name in FASTDDS_PROFILE_VARIABLES:  # this process publishes the images: the node's profile, its name
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    node = NodeProcess(node_arguments(mesh, plan, mesh_scale, params, params_file), log_path, env)
    try:
        session = ReplaySession(plan, writer, publisher_qos, objects)
        try:
            session.wait_for_node(node, startup_timeout_s, f"/{objects[0]}/status" if objects else "/status")
            yield node, session
        finally:
            session.close()
    finally:
        node.stop()
