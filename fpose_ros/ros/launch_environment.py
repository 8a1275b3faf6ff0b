"""What the launch files read from the environment they are launched from (plain Python, no ``launch``).

The launch files run in the user's shell's environment, so these decisions are made once, when the
launch description is generated, and the tests can check them without a ROS 2 ``launch`` install.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, MutableMapping

#: Variables through which Fast DDS reads an XML profile (Fast DDS 2 reads the first, 3.x both).
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
#: ROS 2 distributions whose Fast DDS is 2.x (reads only FASTRTPS_DEFAULT_PROFILES_FILE); later ones ship 3.x.
FAST_DDS_2_DISTROS = frozenset({"foxy", "galactic", "humble", "iron", "jazzy"})


def has_display(environ: Mapping[str, str]) -> bool:
    """True where a graphical session is reachable (``DISPLAY`` or ``WAYLAND_DISPLAY`` set): rviz can open.

    >>> has_display({"DISPLAY": ":0"}), has_display({"WAYLAND_DISPLAY": "wayland-0"}), has_display({})
    (True, True, False)
    """
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def rviz_default(environ: Mapping[str, str]) -> str:
    """Default of the ``rviz`` launch argument: ``"true"`` with a display, ``"false"`` without (a headless robot)."""
    return "true" if has_display(environ) else "false"


def user_fastdds_profile(environ: Mapping[str, str]) -> str | None:
    """The Fast DDS profile the user exported already, as ``NAME=path``; None when neither variable is set.

    A launch file keeps such a profile instead of replacing it with the package's own.

    >>> user_fastdds_profile({"FASTDDS_DEFAULT_PROFILES_FILE": "/etc/my.xml"})
    'FASTDDS_DEFAULT_PROFILES_FILE=/etc/my.xml'
    >>> user_fastdds_profile({"FASTRTPS_DEFAULT_PROFILES_FILE": ""}) is None
    True
    """
    exported = _exported_profile(environ)
    return None if exported is None else "=".join(exported)


def _exported_profile(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, path) of the profile ``environ`` holds, the new name first; None when neither is set (or empty)."""
    return next(((name, environ[name]) for name in reversed(FASTDDS_PROFILE_VARIABLES) if environ.get(name)), None)


def fastdds_profile_variable(environ: Mapping[str, str]) -> str:
    """The one variable to pass a Fast DDS profile in: the name the installed Fast DDS reads without complaint.

    Fast DDS 2 (Humble, Jazzy) reads only ``FASTRTPS_DEFAULT_PROFILES_FILE``. Fast DDS 3 (Kilted on) reads
    ``FASTDDS_DEFAULT_PROFILES_FILE``; the old name still works there, but its rmw logs a deprecation
    warning at every process start, and given both names it loads the profile twice. The distro is
    ``ROS_DISTRO`` where one is sourced; without it (the ROS 2 wheels in a venv), the Fast DDS distribution
    installed next to this package: ``ros-fastdds`` (3.x) or ``ros-fastrtps`` (2.x).

    >>> fastdds_profile_variable({"ROS_DISTRO": "jazzy"}), fastdds_profile_variable({"ROS_DISTRO": "kilted"})
    ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
    """
    old, new = FASTDDS_PROFILE_VARIABLES
    distro = environ.get("ROS_DISTRO")
    if distro:
        return old if distro in FAST_DDS_2_DISTROS else new
    try:
        importlib.metadata.version("ros-fastdds")
    except importlib.metadata.PackageNotFoundError:
        return old
    return new


def set_fastdds_profile(environ: MutableMapping[str, str], default: str | None) -> None:
    """Put the Fast DDS profile in ``environ`` under the one name :func:`fastdds_profile_variable` gives.

    The profile is the one ``environ`` has under either name (the user's), else ``default``; the other
    name is removed. Nothing changes where there is neither.

    >>> env = {"ROS_DISTRO": "kilted", "FASTRTPS_DEFAULT_PROFILES_FILE": "/etc/my.xml"}
    >>> set_fastdds_profile(env, "/opt/large_images.xml"); sorted(env.items())
    [('FASTDDS_DEFAULT_PROFILES_FILE', '/etc/my.xml'), ('ROS_DISTRO', 'kilted')]
    >>> env = {"ROS_DISTRO": "jazzy"}; set_fastdds_profile(env, "/opt/large_images.xml"); sorted(env.items())
    [('FASTRTPS_DEFAULT_PROFILES_FILE', '/opt/large_images.xml'), ('ROS_DISTRO', 'jazzy')]
    """
    exported = _exported_profile(environ)
    profile = default if exported is None else exported[1]
    if not profile:
        return
    for name in FASTDDS_PROFILE_VARIABLES:
        environ.pop(name, None)
    environ[fastdds_profile_variable(environ)] = profile
