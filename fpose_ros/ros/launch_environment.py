"""What the launch files read from the environment they are launched from (plain Python, no ``launch``).

The launch files run in the user's shell's environment, so these decisions are made once, when the
launch description is generated, and the tests can check them without a ROS 2 ``launch`` install.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Variables through which Fast DDS reads an XML profile (Fast DDS 2 reads the first, 3.x both).
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


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
    for name in FASTDDS_PROFILE_VARIABLES:
        if environ.get(name):
            return f"{name}={environ[name]}"
    return None
