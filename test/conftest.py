"""Test-wide environment: an isolated DDS domain per test session, localhost only.

Set before any test initialises rclpy, and inherited by the node processes tests start.
"""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A domain of its own keeps parallel runs (and a developer's running nodes) from cross-talk.
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# Camera-sized images need a larger shared-memory segment than Fast DDS's default.
os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_large_images.xml"))
