"""Bad input end to end over real DDS: ``fpose_node`` (its own process) survives, says what is wrong, poses nothing.

One node is started for the module; a scenario publishes, in order: frames with empty masks and with
masks of the wrong size (no registration), good frames (registration, tracking), then each bad input
while tracking (wrong colour encoding, wrong depth encoding, camera_info of another size, depth of
another size, all-NaN and all-zero depth, no camera_info), each followed by good frames, and last a
jump of the stamps back in time (a looping bag). Each test checks one phase: no pose for its bad
frames, the node's status or log names the topic and the problem, and good frames afterwards get
poses near the ground truth.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, Image

from fpose_ros.core.synthetic.assets import asset_mesh
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.node_process import NodeProcess, node_session
from fpose_ros.ros.bag_io import BagMessage
from fpose_ros.ros.make_bag import sequence_frames
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.replay_session import ReplaySession
from fpose_ros.ros.stream_messages import StreamFrame, StreamTopics, stream_messages

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TOPICS = StreamTopics()
PERIOD_NS = 33_333_333
GOOD_FRAMES = 12


@dataclasses.dataclass
class Phase:
    """What one part of the scenario published and what came back."""

    stamps: list[int]
    truth: dict[int, np.ndarray]  # stamp -> ground-truth pose of the mesh frame in the camera frame
    log: str = ""  # the node's log lines written during this phase
    posed_meanwhile: set[int] = dataclasses.field(default_factory=set)  # stamps posed by the phase's end


class Scenario:
    """Publishes streams into one running node and keeps, per phase, its stamps and the node's log."""

    def __init__(self, node: NodeProcess, session: ReplaySession, frames: list[StreamFrame], camera: object) -> None:
        self.node, self.session, self.frames, self.camera = node, session, frames, camera
        self.next_ns = 1_700_000_000_000_000_000
        self.cursor = 0  # next frame of the sequence to show
        self.phases: dict[str, Phase] = {}

    def publish(self, name: str, count: int, *, edit: Callable[[BagMessage], BagMessage | None] = lambda m: m,
                frame_edit: Callable[[StreamFrame], StreamFrame] = lambda f: f, start_ns: int | None = None,
                drain_s: float = 3.0) -> None:
        frames = [frame_edit(self.frames[(self.cursor + i) % len(self.frames)]) for i in range(count)]
        self.cursor += count
        start = self.next_ns if start_ns is None else start_ns
        self.next_ns = max(self.next_ns, start + (count + 15) * PERIOD_NS)  # a gap between phases
        log_before = self.node.log_path.read_text(errors="replace")
        messages = [m for m in map(edit, stream_messages(frames, self.camera, start_ns=start)) if m is not None]
        self.session.play(messages)
        self.session.drain(drain_s)
        time.sleep(0.3)
        log = self.node.log_path.read_text(errors="replace")[len(log_before):]
        stamps = [start + i * PERIOD_NS for i in range(count)]
        posed = {s for s in stamps if s in self.session.received.poses}
        self.phases[name] = Phase(stamps, {s: f.T_cam_obj for s, f in zip(stamps, frames, strict=True)}, log, posed)


def retag(message: BagMessage, topic: str, msg_type: type, **changes: object) -> BagMessage:
    """``message`` with some fields of its deserialized form changed, when it is on ``topic``."""
    if message.topic != topic:
        return message
    msg = deserialize_message(message.raw, msg_type)
    for field, value in changes.items():
        setattr(msg, field, value)
    return dataclasses.replace(message, raw=serialize_message(msg))


def _drop(topic: str) -> Callable[[BagMessage], BagMessage | None]:
    return lambda m: None if m.topic == topic else m


def _quarter(image: np.ndarray) -> np.ndarray:
    return image[::2, ::2]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("bad_input")
    seq = render_sequence(small_spec(n_frames=30, motion="slow", distractors=1))
    mesh = root / "object.ply"
    asset_mesh(seq.spec.asset).export(mesh)
    frames = sequence_frames(seq)  # a mask with every frame: registration whenever it is asked for
    with node_session(mesh, stream_plan(TOPICS), root / "node.log", params=["input_timeout_s:=0.3"]
                      ) as (node, session):
        run = Scenario(node, session, frames, seq.camera)
        no_masks = [dataclasses.replace(f, mask=None) for f in frames]
        run.publish("empty mask", 6, frame_edit=lambda f: dataclasses.replace(f, mask=np.zeros_like(f.mask)))
        run.publish("mask of the wrong size", 6, frame_edit=lambda f: dataclasses.replace(f, mask=_quarter(f.mask)))
        run.publish("good", GOOD_FRAMES)
        run.frames = no_masks  # while tracking, frames come without masks (the detector is slower)
        run.publish("colour encoding", 6, edit=lambda m: retag(m, TOPICS.color, Image, encoding="yuv422"))
        run.publish("good after colour encoding", GOOD_FRAMES)
        run.publish("depth encoding", 6, edit=lambda m: retag(m, TOPICS.depth, Image, encoding="bgr8"))
        run.publish("good after depth encoding", GOOD_FRAMES)
        run.publish("camera_info size", 6, edit=lambda m: retag(m, TOPICS.camera_info, CameraInfo, width=320,
                                                                height=240))
        run.publish("good after camera_info size", GOOD_FRAMES)
        run.publish("depth size", 6, frame_edit=lambda f: dataclasses.replace(f, depth=_quarter(f.depth)))
        run.frames = frames  # the object may have been lost: masks let the node register again
        run.publish("good after depth size", GOOD_FRAMES)
        run.publish("NaN depth", 6, frame_edit=lambda f: dataclasses.replace(f, depth=np.full_like(f.depth, np.nan)))
        run.publish("good after NaN depth", GOOD_FRAMES)
        run.publish("zero depth", 6, frame_edit=lambda f: dataclasses.replace(f, depth=np.zeros_like(f.depth)))
        run.publish("good after zero depth", GOOD_FRAMES)
        run.publish("no camera_info", 45, edit=_drop(TOPICS.camera_info), drain_s=0.5)
        run.publish("good after no camera_info", GOOD_FRAMES)
        run.publish("stamps back", GOOD_FRAMES, start_ns=run.phases["good"].stamps[0])
        yield run


def poses(scenario: Scenario, phase: str) -> dict[int, np.ndarray]:
    """The poses the node published for the stamps of ``phase`` (4x4, mesh frame in the camera frame)."""
    received = scenario.session.received.poses
    return {s: received[s][0] for s in scenario.phases[phase].stamps if s in received}


def statuses(scenario: Scenario, phase: str) -> list[str]:
    """The status messages the node published for the stamps of ``phase``."""
    received = scenario.session.received.statuses
    return [received[s].message for s in scenario.phases[phase].stamps if s in received]


def assert_tracks_again(scenario: Scenario, phase: str) -> None:
    """The node is alive and poses most good frames of ``phase`` within 2 cm / 10 deg of the truth."""
    assert not scenario.node.exited(), scenario.node.log_tail()
    got = poses(scenario, phase)
    truth = scenario.phases[phase].truth
    assert len(got) >= len(truth) // 2, (phase, len(got), statuses(scenario, phase))
    assert_near_truth(scenario, phase)


def assert_near_truth(scenario: Scenario, phase: str) -> None:
    """Every pose published for a stamp of ``phase`` is within 2 cm / 10 deg of the truth."""
    truth = scenario.phases[phase].truth
    for stamp, T in poses(scenario, phase).items():
        T_true = truth[stamp]
        assert np.linalg.norm(T[:3, 3] - T_true[:3, 3]) < 0.02, phase
        cos = (np.trace(T[:3, :3].T @ T_true[:3, :3]) - 1.0) / 2.0
        assert np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) < 10.0, phase


@pytest.mark.parametrize(("phase", "says"), [
    ("empty mask", [TOPICS.mask, "no object pixels"]),
    ("mask of the wrong size", [TOPICS.mask, "but the frame is 640x480"]),
])
def test_unusable_masks_register_nothing_and_are_named(scenario, phase, says):
    # Nothing while they came; the registration on the good frames after them may track back over
    # these frames (backfill_frames: their images are good), and then its poses must be right.
    assert scenario.phases[phase].posed_meanwhile == set()
    assert_near_truth(scenario, phase)
    for text in says:
        assert text in scenario.phases[phase].log, scenario.phases[phase].log


@pytest.mark.parametrize(("phase", "says"), [
    ("colour encoding", [TOPICS.color, "'yuv422'"]),
    ("depth encoding", [TOPICS.depth, "'bgr8'"]),
    ("camera_info size", [TOPICS.camera_info, "is for 320x240 images"]),
    ("depth size", [TOPICS.depth, "registered to colour"]),
    ("NaN depth", [TOPICS.depth, "no valid depth"]),
    ("zero depth", [TOPICS.depth, "no valid depth"]),
])
def test_bad_frames_get_no_pose_and_a_status_that_names_the_problem(scenario, phase, says):
    assert poses(scenario, phase) == {}
    messages = statuses(scenario, phase)
    assert messages, f"no status for the frames of {phase!r}"
    assert all(all(text in m for text in says) for m in messages), messages


def test_missing_camera_info_is_named_and_nothing_is_posed(scenario):
    assert poses(scenario, "no camera_info") == {}
    log = scenario.phases["no camera_info"].log
    assert f"no messages on {TOPICS.camera_info}" in log, log


def test_stamps_jumping_back_reset_and_the_node_registers_again(scenario):
    log = scenario.phases["stamps back"].log
    assert "jumped back" in log and "tracking reset" in log, log
    assert_tracks_again(scenario, "stamps back")


@pytest.mark.parametrize("phase", ["good", "good after colour encoding", "good after depth encoding",
                                   "good after camera_info size", "good after depth size",
                                   "good after NaN depth", "good after zero depth", "good after no camera_info"])
def test_good_frames_after_each_problem_are_posed_correctly(scenario, phase):
    assert_tracks_again(scenario, phase)
