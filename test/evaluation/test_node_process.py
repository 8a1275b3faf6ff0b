"""The environment node processes get: the large-image Fast DDS profile under one name, the one that is read."""

from pathlib import Path

import pytest

from fpose_ros.evaluation.node_process import ros_environment

OLD, NEW = "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"


@pytest.fixture
def no_profile(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(OLD, raising=False)
    monkeypatch.delenv(NEW, raising=False)
    return monkeypatch


def test_a_users_profile_moves_to_the_name_fast_dds_2_reads(no_profile):
    no_profile.setenv("ROS_DISTRO", "jazzy")
    no_profile.setenv(NEW, "/home/me/profile.xml")  # Fast DDS 2 would never read it under this name
    env = ros_environment()
    assert env[OLD] == "/home/me/profile.xml" and NEW not in env


def test_the_package_profile_goes_under_the_name_fast_dds_3_reads_alone(no_profile):
    no_profile.setenv("ROS_DISTRO", "kilted")
    env = ros_environment()
    assert Path(env[NEW]).name == "fastdds_large_images.xml" and Path(env[NEW]).is_file()
    assert OLD not in env  # the old name too: a deprecation warning at every start, the profile loaded twice
