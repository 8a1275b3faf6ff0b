"""sensor_msgs/Image <-> numpy for every accepted encoding, and the errors for the rest."""

import sys
import types

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from fpose_ros.core.errors import InputError
from fpose_ros.ros import image_conversion as ic


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_colour_encodings_give_rgb(rgb: np.ndarray, encoding: str) -> None:
    pixels = rgb[:, :, ::-1] if encoding.startswith("bgr") else rgb
    if encoding.endswith("a8"):
        pixels = np.concatenate([pixels, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    out = ic.color_to_rgb(ic.array_to_image_msg(pixels, encoding))
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgb)


def test_padded_rows_are_skipped(rgb: np.ndarray) -> None:
    padded = np.zeros((4, 5 * 3 + 9), np.uint8)
    padded[:, :15] = rgb.reshape(4, 15)
    padded[:, 15:] = 99
    msg = Image(height=4, width=5, encoding="rgb8", step=24)
    msg.data = padded.tobytes()
    np.testing.assert_array_equal(ic.color_to_rgb(msg), rgb)


def test_depth_16uc1_millimetres_to_metres() -> None:
    mm = np.array([[0, 50, 1000], [2500, 4001, 65535]], np.uint16)
    for encoding in ("16UC1", "mono16"):
        depth = ic.depth_to_metres(ic.array_to_image_msg(mm, encoding))
        assert depth.dtype == np.float32
        np.testing.assert_allclose(depth, [[0, 0.05, 1.0], [2.5, 4.001, 65.535]], atol=1e-6)


def test_depth_scale_gives_the_units_of_16bit_depth() -> None:
    # A camera publishing 0.1 mm units (depth_scale 0.0001): 10000 units are 1 m, not 10 m.
    units = np.array([[0, 5, 10000], [25000, 40010, 65535]], np.uint16)
    for scale in (0.0001, 0.001, 0.005):
        depth = ic.depth_to_metres(ic.array_to_image_msg(units, "16UC1"), depth_scale=scale)
        assert depth.dtype == np.float32
        np.testing.assert_allclose(depth, units.astype(np.float64) * scale, rtol=1e-6)
    # 32FC1 is metres by definition: the scale does not touch it.
    metres = np.array([[0.5, 1.25]], np.float32)
    np.testing.assert_array_equal(ic.depth_to_metres(ic.array_to_image_msg(metres, "32FC1"), depth_scale=0.0001),
                                  metres)


def test_depth_big_endian_16uc1() -> None:
    mm = np.array([[1234, 300]], np.uint16)
    msg = Image(height=1, width=2, encoding="16UC1", is_bigendian=1, step=4)
    msg.data = mm.astype(">u2").tobytes()
    np.testing.assert_allclose(ic.depth_to_metres(msg), [[1.234, 0.3]], atol=1e-6)


def test_depth_32fc1_invalid_values_become_zero() -> None:
    m = np.array([[np.nan, np.inf, -1.0, 0.0, 1.5]], np.float32)
    np.testing.assert_array_equal(ic.depth_to_metres(ic.array_to_image_msg(m, "32FC1")), [[0, 0, 0, 0, 1.5]])


def test_mask_encodings_and_labels() -> None:
    labels = np.array([[0, 1, 2], [2, 0, 300]])
    assert ic.mask_to_bool(ic.array_to_image_msg(labels.clip(0, 255), "mono8")).sum() == 4
    assert ic.mask_to_bool(ic.array_to_image_msg(labels.clip(0, 255), "8UC1"), label=2).sum() == 2
    np.testing.assert_array_equal(ic.mask_to_bool(ic.array_to_image_msg(labels, "16UC1"), label=300),
                                  labels == 300)
    np.testing.assert_array_equal(ic.mask_to_bool(ic.array_to_image_msg(labels, "32SC1"), label=1), labels == 1)


@pytest.mark.parametrize(("convert", "encoding"), [
    (ic.color_to_rgb, "mono8"), (ic.color_to_rgb, "16UC1"), (ic.depth_to_metres, "rgb8"),
    (ic.depth_to_metres, "8UC1"), (ic.mask_to_bool, "32FC1"), (ic.mask_to_bool, "yuv422"),
])
def test_wrong_encoding_is_named(convert, encoding: str) -> None:
    msg = Image(height=2, width=2, encoding=encoding, step=2)
    msg.data = bytes(64)
    with pytest.raises(InputError, match=encoding):
        convert(msg)


def _bad_layouts() -> list[tuple[Image, str]]:
    """4x5 rgb8 messages whose buffer or step does not fit, with the part of the error that names it."""
    short = Image(height=4, width=5, encoding="rgb8", step=15)
    short.data = bytes(15 * 3)
    narrow = Image(height=4, width=5, encoding="rgb8", step=10)
    narrow.data = bytes(60)
    return [(short, "needs 60"), (narrow, "step 10")]


def test_short_buffer_and_bad_step_are_errors() -> None:
    for msg, error in _bad_layouts():
        with pytest.raises(InputError, match=error):
            ic.color_to_rgb(msg)
    with pytest.raises(InputError, match="empty"):
        ic.color_to_rgb(Image(height=0, width=5, encoding="rgb8", step=15))


def test_rgb_to_image_msg_round_trip(rgb: np.ndarray) -> None:
    header = Header(frame_id="cam")
    msg = ic.rgb_to_image_msg(rgb, header)
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.header.frame_id) == ("rgb8", 5, 4, 15, "cam")
    np.testing.assert_array_equal(ic.color_to_rgb(msg), rgb)


class RecordingBridge:
    """Test double for cv_bridge.CvBridge: records each message it is asked to decode.

    ``result`` is what a real cv_bridge would hand back (or an exception it would raise).
    """

    calls: list[Image] = []
    result: object = None

    def imgmsg_to_cv2(self, msg: Image, desired_encoding: str) -> np.ndarray:
        RecordingBridge.calls.append(msg)
        if isinstance(RecordingBridge.result, Exception):
            raise RecordingBridge.result
        return RecordingBridge.result


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> type[RecordingBridge]:
    monkeypatch.setattr(ic, "CvBridge", RecordingBridge)
    monkeypatch.setattr(RecordingBridge, "calls", [])
    return RecordingBridge


def test_cv_bridge_without_compiled_part_counts_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    python_part = types.ModuleType("cv_bridge")
    python_part.CvBridge = RecordingBridge
    monkeypatch.setitem(sys.modules, "cv_bridge", python_part)
    monkeypatch.setitem(sys.modules, "cv_bridge.boost", None)  # import raises ImportError
    assert ic.load_cv_bridge() is None
    compiled_part = types.ModuleType("cv_bridge.boost.cv_bridge_boost")
    monkeypatch.setitem(sys.modules, "cv_bridge.boost", types.ModuleType("cv_bridge.boost"))
    monkeypatch.setitem(sys.modules, "cv_bridge.boost.cv_bridge_boost", compiled_part)
    assert ic.load_cv_bridge() is RecordingBridge


def test_big_endian_depth_bypasses_cv_bridge(bridge: type[RecordingBridge], monkeypatch: pytest.MonkeyPatch) -> None:
    # What cv_bridge raises for big-endian data under NumPy 2.
    monkeypatch.setattr(bridge, "result", AttributeError("'numpy.ndarray' object has no attribute 'newbyteorder'"))
    mm = np.array([[1234, 300]], np.uint16)
    msg = Image(height=1, width=2, encoding="16UC1", is_bigendian=1, step=4)
    msg.data = mm.astype(">u2").tobytes()
    np.testing.assert_allclose(ic.depth_to_metres(msg), [[1.234, 0.3]], atol=1e-6)
    assert bridge.calls == []


def test_too_small_step_is_refused_before_cv_bridge(bridge: type[RecordingBridge],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # cv_bridge reshapes a too-small step into a wrongly shaped array instead of refusing it.
    monkeypatch.setattr(bridge, "result", np.zeros((4, 3, 3), np.uint8))
    for msg, error in _bad_layouts():
        with pytest.raises(InputError, match=error):
            ic.color_to_rgb(msg)
    assert bridge.calls == []


def test_little_endian_image_goes_through_working_cv_bridge(bridge: type[RecordingBridge], rgb: np.ndarray,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "result", rgb)
    msg = Image(height=4, width=5, encoding="rgb8", is_bigendian=0, step=15)
    msg.data = rgb.tobytes()
    np.testing.assert_array_equal(ic.color_to_rgb(msg), rgb)
    assert bridge.calls == [msg]


@pytest.mark.parametrize(("encoding", "dtype"), [("mono8", np.uint8), ("16UC1", np.uint16), ("32SC1", np.int32)])
def test_a_label_image_splits_into_one_mask_per_object(encoding: str, dtype: type) -> None:
    labels = np.zeros((6, 8), dtype)
    labels[1:3, 1:4], labels[3:5, 2:6], labels[0, 7] = 1, 2, 3
    labels[5, 0] = 200  # an instance of a class no object listens to
    msg = ic.array_to_image_msg(labels, encoding)
    masks = {label: ic.mask_to_bool(msg, label) for label in (1, 2, 3)}
    for label, mask in masks.items():
        assert np.array_equal(mask, labels == label)
    assert not (masks[1] & masks[2]).any() and masks[1].sum() == 6 and masks[2].sum() == 8 and masks[3].sum() == 1
    assert ic.mask_to_bool(msg, 0).sum() == 16  # 0: every labelled pixel


def test_selects_nothing_only_for_a_label_image_without_the_label() -> None:
    labels = np.zeros((4, 6), np.uint16)
    labels[1, 2], labels[3, 5] = 1, 2
    msg = ic.array_to_image_msg(labels, "16UC1")
    assert not ic.selects_nothing(msg, 1) and not ic.selects_nothing(msg, 2)
    assert ic.selects_nothing(msg, 3)  # that object is not in this image
    assert not ic.selects_nothing(ic.array_to_image_msg(np.zeros((4, 6), np.uint8), "mono8"), 0)  # reported later
    bad = ic.array_to_image_msg(labels, "16UC1")
    bad.encoding = "rgb8"
    assert not ic.selects_nothing(bad, 3)  # undecodable: the worker names the problem
