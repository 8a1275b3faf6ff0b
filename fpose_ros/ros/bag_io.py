"""rosbag2 files (sqlite3 or mcap) without ROS 2 tools, through the pure-Python ``rosbags`` library.

Messages stay in their CDR serialization end to end: read from a bag, published as raw
bytes with rclpy, received raw from the node and written to the output bag. Nothing is
converted twice, and the bags hold exactly what went over DDS, as ``ros2 bag record`` does.
"""

from __future__ import annotations

import importlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

#: The msgtype of the node's status, and where its definition lives (source tree or installed share).
STATUS_MSGTYPE = "fpose_ros/msg/TrackingStatus"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: rosbag2 metadata version 8 (Iron and later); Kilted writes 9, and reads 8.
BAG_VERSION: Final = 8


def _status_definition() -> str:
    """TrackingStatus.msg from the source tree, or from the installed package's share directory."""
    path = _PACKAGE_ROOT / "msg" / "TrackingStatus.msg"
    if not path.is_file():
        from ament_index_python.packages import get_package_share_directory

        path = Path(get_package_share_directory("fpose_ros")) / "msg" / "TrackingStatus.msg"
    return path.read_text()


def make_typestore() -> Typestore:
    """ROS 2 Kilted message definitions plus the project's TrackingStatus."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    typestore.register(get_types_from_msg(_status_definition(), STATUS_MSGTYPE))
    return typestore


def header_stamp_ns(raw: bytes | memoryview) -> int:
    """Header stamp of a CDR-serialized message whose first field is a std_msgs/Header, in nanoseconds.

    The stamp (int32 sec, uint32 nanosec) follows the 4-byte encapsulation header directly,
    so reading it costs nothing even for a megabyte image.
    """
    little_endian = bytes(raw[1:2]) in (b"\x01", b"\x03")  # CDR_LE / PL_CDR_LE
    sec, nanosec = struct.unpack_from("<iI" if little_endian else ">iI", raw, 4)
    return sec * 1_000_000_000 + nanosec


def rclpy_message_type(msgtype: str) -> type:
    """``sensor_msgs/msg/Image`` -> the rclpy class ``sensor_msgs.msg.Image``."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


@dataclass(frozen=True)
class BagMessage:
    """One recorded message, still serialized."""

    topic: str
    msgtype: str
    timestamp_ns: int  # the bag's receive time, which playback follows
    raw: bytes


class BagReader:
    """A rosbag2 directory (or .db3 / .mcap file) opened for reading."""

    def __init__(self, path: str | Path) -> None:
        self._reader = AnyReader([Path(path)], default_typestore=make_typestore())

    def __enter__(self) -> BagReader:
        self._reader.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()

    @property
    def topics(self) -> dict[str, str]:
        """Topic -> msgtype."""
        return {c.topic: c.msgtype for c in self._reader.connections}

    def messages(self, topics: set[str] | None = None) -> Iterator[BagMessage]:
        """Messages of ``topics`` (all when None), in timestamp order."""
        connections = [c for c in self._reader.connections if topics is None or c.topic in topics]
        for connection, timestamp, raw in self._reader.messages(connections=connections):
            yield BagMessage(connection.topic, connection.msgtype, timestamp, bytes(raw))

    def deserialize(self, message: BagMessage) -> Any:
        """The message as a rosbags dataclass (for small messages such as poses)."""
        return self._reader.typestore.deserialize_cdr(message.raw, message.msgtype)


class BagWriter:
    """A new rosbag2 (mcap or sqlite3) that accepts serialized messages of any known type."""

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
        self.typestore = make_typestore()
        self._writer = Writer(Path(path), version=BAG_VERSION, storage_plugin=plugin)
        self._connections: dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def write(self, topic: str, msgtype: str, timestamp_ns: int, raw: bytes) -> None:
        """Append one serialized message (the topic's connection is created on first use)."""
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = connection
        self._writer.write(connection, timestamp_ns, raw)

    def write_message(self, topic: str, msgtype: str, timestamp_ns: int, message: Any) -> None:
        """Serialize a rosbags message dataclass and append it."""
        self.write(topic, msgtype, timestamp_ns, bytes(self.typestore.serialize_cdr(message, msgtype)))
