"""Which objects' schedulers a mask or label image goes to (``FposeNode._on_mask``), without DDS."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from builtin_interfaces.msg import Time

from fpose_ros.node import FposeNode
from fpose_ros.ros.frame_scheduler import FrameScheduler, FrameSchedulerConfig, JobKind
from fpose_ros.ros.image_conversion import array_to_image_msg

FRAME_NS = 1_000_000_000


def _worker(label: int, topic: str = "mask") -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(mask_source=topic, mask_label=label),
                           scheduler=FrameScheduler(FrameSchedulerConfig()))


def test_a_label_image_without_an_objects_label_is_no_mask_for_it() -> None:
    # multi3_rest_hand_leave: while `leaving` (label 3) is out of view, each label image with the other two
    # objects' labels made a registration job for it with nothing to register on (15 around its return).
    workers = [_worker(1), _worker(2), _worker(3), _worker(3, topic="other_mask")]
    labels = np.zeros((8, 8), np.uint16)
    labels[1:3, 1:3], labels[5:7, 5:7] = 1, 2
    msg = array_to_image_msg(labels, "16UC1", stamp=Time(sec=1))
    FposeNode._on_mask(SimpleNamespace(_workers=workers), "mask", msg)  # type: ignore[arg-type]
    kinds = []
    for worker in workers:
        worker.scheduler.push_frame(FRAME_NS, "frame")
        job = worker.scheduler.next_job(timeout=0.0)
        assert job is not None
        kinds.append(job.kind)
    assert kinds == [JobKind.REGISTER, JobKind.REGISTER, JobKind.TRACK, JobKind.TRACK]


def test_a_plain_mask_goes_to_its_object_even_when_empty() -> None:
    # An empty mono8 mask is a detector problem the worker reports (test_node_bad_input_e2e), not an absence.
    worker = _worker(0)
    msg = array_to_image_msg(np.zeros((8, 8), np.uint8), "mono8", stamp=Time(sec=1))
    FposeNode._on_mask(SimpleNamespace(_workers=[worker]), "mask", msg)  # type: ignore[arg-type]
    worker.scheduler.push_frame(FRAME_NS, "frame")
    job = worker.scheduler.next_job(timeout=0.0)
    assert job is not None and job.kind is JobKind.REGISTER
