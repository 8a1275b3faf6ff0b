"""sensor_msgs/Image <-> numpy for the encodings the node accepts.

Decoding the raw buffer (row padding in ``step``, byte order) goes through cv_bridge where
it works (its Python part and its compiled ``cv_bridge.boost`` part both import); otherwise,
and always for big-endian data (cv_bridge's byte swap calls ``ndarray.newbyteorder``, which
NumPy 2 removed), through :func:`decode_passthrough`, which handles the same cases. The
layout (``step`` against width x pixel size, buffer size against ``step`` x height) is
checked before either decoder, because cv_bridge returns a wrongly shaped array for a
too-small ``step`` instead of refusing it.
What the node does with the pixels (channel order, depth units -> metres, labels -> mask)
is the same on both paths. Every problem raises :class:`InputError` with a message that
names the encoding or size that was wrong.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from fpose_ros.core.errors import InputError


def load_cv_bridge() -> type | None:
    """cv_bridge's ``CvBridge`` class where cv_bridge works, else None.

    cv_bridge exists on a ROS 2 install, not on PyPI. Its Python part can import while its
    compiled part (``cv_bridge.boost.cv_bridge_boost``) is missing, and then every
    conversion fails; such an install counts as absent, so the node decodes by itself.
    """
    try:
        bridge_class = importlib.import_module("cv_bridge").CvBridge
        importlib.import_module("cv_bridge.boost.cv_bridge_boost")
    except (ImportError, AttributeError):
        return None
    return bridge_class


CvBridge = load_cv_bridge()

#: encoding -> (numpy dtype, channels) of every encoding this module can decode.
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32SC1": (np.dtype(np.int32), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8")
#: REP 118: 32FC1 metres is canonical, 16UC1 millimetres accepted (mono16 is the same layout).
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
MASK_ENCODINGS = ("mono8", "8UC1", "16UC1", "mono16", "32SC1")


def check_layout(msg: Image) -> None:
    """Raise :class:`InputError` unless ``msg``'s encoding, size, ``step`` and buffer fit together."""
    if msg.encoding not in ENCODINGS:
        raise InputError(f"unsupported image encoding '{msg.encoding}'")
    dtype, channels = ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InputError(f"image is empty ({width}x{height})")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise InputError(f"image step {step} is smaller than width x pixel size = {row_bytes} bytes "
                         f"for {width}x{height} {msg.encoding}")
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size < step * height:
        raise InputError(f"image data holds {buffer.size} bytes, {width}x{height} {msg.encoding} "
                         f"with step {step} needs {step * height}")


def decode_passthrough(msg: Image) -> np.ndarray:
    """The image's pixels as an (H, W) or (H, W, C) array of the encoding's dtype, no conversion.

    Honours ``step`` (rows may be padded) and ``is_bigendian``. Returns a view of the
    message's buffer when no byte swap is needed.
    """
    check_layout(msg)
    dtype, channels = ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    rows = buffer[: step * height].reshape(height, step)[:, :row_bytes]
    message_dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    pixels = np.ascontiguousarray(rows).view(message_dtype).reshape(height, width, channels)
    if not message_dtype.isnative:
        pixels = pixels.astype(dtype)
    return pixels[:, :, 0] if channels == 1 else pixels


def _decode(msg: Image, allowed: tuple[str, ...], what: str) -> np.ndarray:
    if msg.encoding not in allowed:
        raise InputError(f"{what} image has encoding '{msg.encoding}'; expected one of {', '.join(allowed)}")
    if CvBridge is None or bool(msg.is_bigendian):
        return decode_passthrough(msg)
    check_layout(msg)
    try:
        return np.asarray(CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough"))
    except Exception as exc:  # CvBridgeError and numpy errors for inconsistent sizes
        raise InputError(f"{what} image ({msg.width}x{msg.height} {msg.encoding}) cannot be decoded: {exc}") from exc


def color_to_rgb(msg: Image) -> np.ndarray:
    """Colour image (rgb8, bgr8, rgba8, bgra8) -> (H, W, 3) uint8 RGB, contiguous."""
    pixels = _decode(msg, COLOR_ENCODINGS, "colour")
    if msg.encoding.startswith("bgr"):
        pixels = pixels[:, :, 2::-1]
    return np.ascontiguousarray(pixels[:, :, :3])


#: Metres per unit of 16-bit depth by default: millimetres (REP 118).
MILLIMETRES = 0.001


def depth_to_metres(msg: Image, depth_scale: float = MILLIMETRES) -> np.ndarray:
    """Depth image (16UC1 / mono16 in units of ``depth_scale`` metres, or 32FC1 metres) -> (H, W) float32 metres.

    0 where invalid (0, NaN, inf, negative). ``depth_scale`` applies to 16-bit depth only (32FC1 is metres by
    definition); the node validates it (parameter ``depth_scale``). The engine applies its own working range
    (``engine.min_depth`` / ``engine.max_depth``).
    """
    pixels = _decode(msg, DEPTH_ENCODINGS, "depth")
    if pixels.dtype == np.uint16:
        depth = pixels.astype(np.float32) * np.float32(depth_scale)
    else:
        depth = pixels.astype(np.float32, copy=True)
    valid = np.isfinite(depth) & (depth > 0)
    depth[~valid] = 0.0
    return depth


def mask_to_bool(msg: Image, label: int = 0) -> np.ndarray:
    """Mask or label image -> (H, W) bool, True on the object.

    Args:
        msg: mono8/8UC1 mask, or 16UC1/32SC1 label image.
        label: 0 = every nonzero pixel is the object; otherwise only pixels equal to ``label``
            (one object of a label image from an instance segmenter).
    """
    pixels = _decode(msg, MASK_ENCODINGS, "mask")
    if label == 0:
        return pixels != 0
    return pixels == label


def selects_nothing(msg: Image, label: int) -> bool:
    """Whether a label image holds no pixel of ``label`` (nonzero): the segmenter did not see that object.

    Such an image is no mask for the object, as if none had come: paired with a frame, it would make a
    registration job that has nothing to register on (an object out of view got one per label image the
    other objects' detections sent). False for ``label`` 0 (a plain mask: an empty one is a detector
    problem, reported where the mask is used) and for an image that does not decode (reported there too).
    """
    if label == 0:
        return False
    try:
        return not bool(mask_to_bool(msg, label).any())
    except InputError:
        return False


def rgb_to_image_msg(rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> an rgb8 sensor_msgs/Image with ``header``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if CvBridge is not None:
        return CvBridge().cv2_to_imgmsg(np.ascontiguousarray(rgb), encoding="rgb8", header=header)
    msg = Image(header=header, height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8",
                is_bigendian=0, step=rgb.shape[1] * 3)
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def array_to_image_msg(pixels: np.ndarray, encoding: str, stamp: Time | None = None, frame_id: str = "") -> Image:
    """Numpy array -> sensor_msgs/Image in ``encoding`` (used to publish synthetic data and test inputs)."""
    if encoding not in ENCODINGS:
        raise InputError(f"unsupported image encoding '{encoding}'")
    dtype, channels = ENCODINGS[encoding]
    pixels = np.ascontiguousarray(pixels, dtype=dtype)
    if pixels.ndim != (2 if channels == 1 else 3) or (channels > 1 and pixels.shape[2] != channels):
        raise InputError(f"array of shape {pixels.shape} does not fit encoding {encoding}")
    header = Header(stamp=stamp if stamp is not None else Time(), frame_id=frame_id)
    msg = Image(header=header, height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                is_bigendian=int(sys.byteorder == "big"), step=pixels.shape[1] * channels * dtype.itemsize)
    msg.data = pixels.tobytes()
    return msg


def describe(msg: Any) -> str:
    """Short description of an image for log messages: ``640x480 rgb8``."""
    return f"{msg.width}x{msg.height} {msg.encoding}"
