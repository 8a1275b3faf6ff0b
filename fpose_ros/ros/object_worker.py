"""One tracked object inside ``fpose_node``: its frame scheduler, tracker, outputs and worker thread.

Each object has its own worker thread, so one object's registration (0.3-0.5 s on a 2-core CPU)
never stops the others from being tracked on the frames it takes. A worker tracks with one torch intra-op
thread (:data:`TRACKING_THREADS`) and registers with all cores but one (:func:`registration_threads`):
a tracked frame is a few hundred small tensor operations, each of which would otherwise wake the
OpenMP team and wait for it (measured on a loaded 2-core machine: a tiny matmul 16 us of CPU with one
thread, 40-700 us with two), and three objects' workers would start three teams on two cores. A
registration is thousands of such operations too; the core left over receives the frames that
arrive meanwhile (DDS, the executor). The poses are the same either way (checked bit for bit on the
multi-object cost benchmark's frames). The workers share the frame
conversion (:class:`~fpose_ros.ros.object_group.SharedConversion`: colour decoded and depth converted
once per frame for all objects) and the ``/tf`` message of each frame
(:class:`~fpose_ros.ros.object_group.StampGrouper`).

The workers' tracked frames run one at a time (:attr:`WorkerShared.tracking_lock`); registrations do
not take the lock, so a registration still runs beside the others' tracking. A tracked frame is
hundreds of small torch calls that each release and retake Python's interpreter lock: three workers
tracking at once on two cores spent about twice the CPU of the same work done one after another
(multi-object cost benchmark, quiet 2-core machine: 13.8-18.1 ms against 7.5-8.1 ms of CPU per frame
for three objects), and did not finish sooner.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from geometry_msgs.msg import TransformStamped
from rclpy.impl.rcutils_logger import RcutilsLogger
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection3D

from fpose_ros import _node_env
from fpose_ros.core.box_mask import mask_from_box
from fpose_ros.core.errors import InputError
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.pose_result import PoseResult, TrackingMode
from fpose_ros.core.tracking_state import ObjectTracker
from fpose_ros.ros.detection_messages import box_of_detection
from fpose_ros.ros.frame_scheduler import FrameScheduler, FrameSchedulerConfig, Job, JobKind
from fpose_ros.ros.image_conversion import describe, mask_to_bool
from fpose_ros.ros.node_config import ObjectConfig
from fpose_ros.ros.object_group import SharedConversion, StampGrouper
from fpose_ros.ros.object_outputs import FrameTiming, ObjectOutputs
from fpose_ros.ros.rate_limited_log import RateLimitedLogger

#: torch intra-op threads of a worker while it tracks (see the module docstring).
TRACKING_THREADS = 1


def registration_threads(torch_default: int, user_set: bool) -> int:
    """Intra-op threads of torch in a worker while it registers: ``torch_default`` (all cores) but one, at least one.

    The core left to the executor and DDS: with two threads on a 2-core VM, the OpenMP team's
    passive waits (``fpose_ros._node_env``) each woke a sleeping thread (about 900 context switches
    per registration) while frames kept arriving; a 60 s live soak's 16 registrations took 0.345 s
    median (p90 0.488 s) against 0.272 s (p90 0.311 s) with one. ``user_set`` (``OMP_NUM_THREADS``
    given): ``torch_default`` as is.
    """
    return torch_default if user_set else max(1, torch_default - 1)


@dataclass(frozen=True)
class SyncedFrame:
    """One synchronized colour / depth / camera_info set, still as ROS messages (converted by a worker)."""

    color: Image
    depth: Image
    info: CameraInfo
    stamp_ns: int
    received_s: float  # time.monotonic() when the set was complete


@dataclass(frozen=True)
class FrameOutput:
    """One object's outputs of one frame that go out together with the other objects' (``/tf``, ``detections``).

    Attributes:
        header: the colour image's header.
        transform: the object's mesh frame in the camera optical frame, None without a pose.
        detection: its entry on ``detections`` (class id, pose, score), None without a pose.
    """

    header: Header
    transform: TransformStamped | None
    detection: Detection3D | None


@dataclass(frozen=True)
class WorkerShared:
    """What every object's worker of one node uses."""

    frames: SharedConversion[SyncedFrame, RGBDFrame]
    group: StampGrouper[FrameOutput]
    scheduler_config: FrameSchedulerConfig
    make_tracker: Callable[[ObjectModel], ObjectTracker]
    warn: RateLimitedLogger
    logger: RcutilsLogger
    mask_topic: Callable[[str], str]  # relative -> resolved topic name, for messages
    detections_2d_topic: str  # resolved, for messages
    tracking_lock: threading.Lock = field(default_factory=threading.Lock)  # one tracked frame at a time
    heap_trim: _node_env.HeapTrim = field(default_factory=_node_env.HeapTrim)  # the process's, after registrations


class ObjectWorker:
    """Registers and tracks one object on the frames pushed to it, on a thread of its own.

    A registration starts from the object's mask (its label's pixels) or from its detector box (a mask
    made from the box and the depth in it).

    Args:
        config: the object.
        model: its mesh (the box's depth range comes from its size).
        tracker: its engine, built and warmed up.
        outputs: its publishers (its model set).
        shared: the node's frame conversion, ``/tf`` grouping, tracker factory and loggers.
    """

    def __init__(self, config: ObjectConfig, model: ObjectModel, tracker: ObjectTracker, outputs: ObjectOutputs,
                 shared: WorkerShared) -> None:
        self.config = config
        self._shared = shared
        self._outputs = outputs
        self._mask_topic = shared.mask_topic(config.mask_source)
        self._model, self._tracker = model, tracker  # only the worker thread touches them from here on
        self._mode = TrackingMode.REGISTERING
        self._pending_model: tuple[ObjectModel, str, float] | None = None
        self._reset_reason: str | None = None
        self._state_lock = threading.Lock()  # guards _mode, _pending_model, _reset_reason, _frames_processed
        self._frames_processed = 0
        self.latest_header: Header | None = None
        # torch's default, read before any worker changes it.
        self._registration_threads = registration_threads(torch.get_num_threads(), "OMP_NUM_THREADS" in os.environ)
        self.scheduler: FrameScheduler[SyncedFrame, Image | Detection2D] = FrameScheduler(shared.scheduler_config)
        self._thread = threading.Thread(target=self._work, name=f"fpose_engine_{config.name}", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- requests from other threads

    def request_reset(self, reason: str) -> None:
        """Register again on the next frame with a mask; ``reason`` is logged when the worker applies it."""
        with self._state_lock:
            self._reset_reason = reason
        self.scheduler.wake()

    def request_model(self, model: ObjectModel, mesh_file: str, mesh_scale: float) -> None:
        """Track a new mesh from the next frame with a mask on (masks held show the previous object)."""
        with self._state_lock:
            self._pending_model = (model, mesh_file, mesh_scale)
        self.scheduler.reset(clear_masks=True)
        self.scheduler.wake()

    @property
    def mode(self) -> TrackingMode:
        """The tracker's mode after the last frame (read by callbacks, written by the worker)."""
        with self._state_lock:
            return self._mode

    @property
    def frames_processed(self) -> int:
        """Frames this object's engine processed since start."""
        with self._state_lock:
            return self._frames_processed

    def publish_problem(self, header: Header, problem: str) -> None:
        """A status for a frame that could not be processed (input problem)."""
        self._outputs.publish_status(header, self.mode, problem)

    def report(self, key: str, header: Header, message: str) -> None:
        """A rate-limited warning, on the log and in this object's ``status``."""
        if self._shared.warn.log(f"{key}:{self.config.name}", message):
            self._outputs.publish_status(header, self.mode, message)

    def close(self) -> None:
        """Stop the worker thread."""
        self.scheduler.close()
        self._thread.join(timeout=5.0)

    # ---------------------------------------------------------------- worker thread

    def _work(self) -> None:
        scheduler = self.scheduler
        while not scheduler.closed:
            job = scheduler.next_job(timeout=0.2)
            if scheduler.closed:
                return
            self._apply_requests()
            if job is None:
                continue
            start = time.perf_counter()
            # Set for every job: the count is the thread's own, but torch hands the last count set
            # anywhere to a thread's first parallel operation.
            torch.set_num_threads(TRACKING_THREADS if job.kind is JobKind.TRACK else self._registration_threads)
            posed = False
            try:
                if job.kind is JobKind.TRACK:
                    with self._shared.tracking_lock:
                        posed = self._process(job)
                else:
                    posed = self._process(job)
                tracking = self.mode is TrackingMode.TRACKING
            except Exception as exc:  # the node must survive anything one frame can cause
                self._shared.warn.log(f"worker:{self.config.name}:{type(exc).__name__}",
                                      f"{self.config.name}: frame processing failed: {type(exc).__name__}: "
                                      f"{exc}\n{traceback.format_exc()}")
                with self._state_lock:
                    self._reset_reason = f"internal error: {exc}"
                tracking = False  # registers again; the masks held stay usable
            scheduler.done(job, tracking=tracking, posed=posed, processing_s=time.perf_counter() - start)

    def _apply_requests(self) -> None:
        """Mesh changes and resets requested by other threads, applied between frames."""
        with self._state_lock:
            pending, self._pending_model = self._pending_model, None
            reason, self._reset_reason = self._reset_reason, None
        if pending is not None:
            model, mesh_file, mesh_scale = pending
            self._model = model
            self._tracker = self._shared.make_tracker(model)
            self._outputs.set_model(model, mesh_file, mesh_scale, self.latest_header)
            self._set_mode(TrackingMode.REGISTERING)
        if reason is not None:
            self._tracker.reset()
            self._set_mode(TrackingMode.REGISTERING)
            self._shared.logger.info(f"{self._label}tracking reset: {reason}")

    def _process(self, job: Job[SyncedFrame, Image | Detection2D]) -> bool:
        """Run ``job``'s frame through the tracker and publish; returns whether that frame got a pose."""
        item, mask_msg = job.frame, job.mask if job.kind is JobKind.REGISTER else None
        header = item.color.header
        self.latest_header = header
        try:
            frame = self._shared.frames.get(item.stamp_ns, item)
        except InputError as exc:
            message = f"frame at {header.stamp.sec}.{header.stamp.nanosec:09d} skipped: {exc}"
            self._shared.warn.log(f"frame:{type(exc).__name__}:{str(exc)[:40]}", message)
            self._outputs.publish_status(header, self.mode, message)
            return False
        mask = self._to_mask(mask_msg, frame, header) if mask_msg is not None else None
        start = time.perf_counter()
        if job.other_mask is not None:
            self._note_other_mask(*job.other_mask)
        result = self._tracker.process(frame, mask, behind=job.behind)
        processing_ms = (time.perf_counter() - start) * 1e3
        if result.has_pose and result.n_hypotheses > 1 and job.earlier:
            self._track_back(job.earlier, result)  # their poses go out first: stamps stay in order on every topic
        self._publish(item, frame, result, processing_ms)
        self._tracker.run_deferred()  # after the pose is out: it costs the next frame, not this one, its latency
        self._set_mode(result.mode)  # the scheduler discards the masks from before a loss
        if job.kind is JobKind.REGISTER:
            self._shared.heap_trim.after_registration()  # when the heap has grown (see fpose_ros._node_env)
        return result.has_pose

    def _publish(self, item: SyncedFrame, frame: RGBDFrame, result: PoseResult, processing_ms: float) -> None:
        """One processed frame's pose, status, ``/tf`` and detection (with the other objects'), overlay."""
        header = item.color.header
        with self._state_lock:
            self._frames_processed += 1
            processed = self._frames_processed
        timing = FrameTiming(processing_ms, item.received_s, processed, self.scheduler.skipped)
        transform = self._outputs.publish_result(header, result, timing)
        self._shared.group.report(self.config.name, item.stamp_ns,
                                  FrameOutput(header, transform, self._outputs.detection(header, result)),
                                  result.mode is TrackingMode.TRACKING)
        if self._outputs.overlay_wanted:
            self._outputs.publish_overlay(header, frame.rgb, frame.intrinsics, result)

    def _track_back(self, earlier: tuple[tuple[int, SyncedFrame], ...], registered: PoseResult) -> None:
        """Poses for the frames before a registration (newest first in ``earlier``), tracked back from it.

        Published oldest first, each with its own stamp, before the registered frame's: a consumer that takes
        the newest message still ends with the newest pose, and a TF buffer gets the poses of those moments.
        Only frames up to the first that fails the loss criteria (``ObjectTracker.track_back``).
        """
        items, frames = [], []
        for stamp_ns, item in earlier:
            try:
                frames.append(self._shared.frames.get(stamp_ns, item))
            except InputError:
                break  # a frame that could not be converted: nothing tracks across it
            items.append(item)
        results = self._tracker.track_back(frames, registered)
        for item, frame, result in reversed(list(zip(items, frames, results, strict=False))):
            self._publish(item, frame, result, result.timings.total_ms)

    @property
    def _label(self) -> str:
        """Log prefix: the object's name where the node tracks several."""
        return f"{self.config.name}: " if self.config.topic_prefix else ""

    def _set_mode(self, mode: TrackingMode) -> None:
        with self._state_lock:
            previous, self._mode = self._mode, mode
        if mode is not previous:
            self._shared.logger.info(f"{self._label}{previous.value} -> {mode.value}")

    def _note_other_mask(self, item: SyncedFrame, msg: Image | Detection2D) -> None:
        """Give the tracker the mask of a frame near the one registered on: the object's velocity comes from both."""
        try:
            frame = self._shared.frames.get(item.stamp_ns, item)
        except InputError:
            return  # a frame that is never processed: its velocity is only a start for tracking
        mask = self._to_mask(msg, frame, item.color.header)
        if mask is not None:
            self._tracker.note_mask(frame, mask)

    def _to_mask(self, msg: Image | Detection2D, frame: RGBDFrame, header: Header) -> np.ndarray | None:
        """The object's mask for ``frame`` (its label's pixels, or from its box); None (with a warning) if unusable.

        Each kind of problem is rate-limited on its own, so a new problem is reported at once.
        """
        if isinstance(msg, Detection2D):
            try:
                return mask_from_box(frame.depth, box_of_detection(msg), self._model.diameter)
            except InputError as exc:
                self.report("detections:box", header, f"{self._shared.detections_2d_topic}: box ignored: {exc}")
                return None
        warn, name, label = self._shared.warn, self.config.name, self.config.mask_label
        try:
            mask = mask_to_bool(msg, label)
        except InputError as exc:
            warn.log(f"mask:decode:{self._mask_topic}", f"{self._mask_topic}: {exc}")
            return None
        if mask.shape != frame.shape:
            warn.log(f"mask:size:{self._mask_topic}", f"{self._mask_topic} is {describe(msg)} but the frame is "
                                                      f"{frame.shape[1]}x{frame.shape[0]}: mask ignored")
            return None
        if not mask.any():
            warn.log(f"mask:empty:{name}", f"{self._mask_topic}: mask has no object pixels (mask_label = "
                                           f"{label}{f', object {name}' if self._label else ''}): ignored")
            return None
        return mask
