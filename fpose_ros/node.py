"""``fpose_node``: 6D pose of a known object in an RGB-D stream, as a ROS 2 node.

Run: ``ros2 run fpose_ros fpose_node --ros-args -p mesh_file:=/path/obj.ply`` on a ROS 2
install, or ``python -m fpose_ros.node --ros-args ...`` / ``fpose_node --ros-args ...`` here.
Topics, parameters and the service are listed in docs/ros_interface.md.

Threads: subscription callbacks only store messages (synchronizer, mask buffer, the
newest-frame slot) and run on a single-threaded executor; one worker thread runs the engine
and publishes, so the inputs never wait for the engine. Not rclpy's MultiThreadedExecutor:
its spin thread re-queues callbacks that are still waiting for a pool thread and holds the GIL
doing so (ros2/rclpy#1223, #1452); measured here (scripts/bench_executor_latency.py) it delayed a
640x480 image by 10-40 ms median against 2-5 ms, and the demo's latency p90 was 86-113 ms against 20-24 ms.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray, Detection3DArray

from fpose_ros import _node_env  # before torch: OpenMP threads must not spin (see the module)
from fpose_ros.core.box_mask import mask_from_box
from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError, InputError, MeshError
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel, load_object_model
from fpose_ros.core.pose_result import TrackingMode
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker
from fpose_ros.ros.detection_messages import box_of_detection, detection_3d_array, select_detection
from fpose_ros.ros.frame_scheduler import FrameScheduler, FrameSchedulerConfig, Job, JobKind
from fpose_ros.ros.image_conversion import color_to_rgb, depth_to_metres, describe, mask_to_bool
from fpose_ros.ros.input_monitor import InputMonitor
from fpose_ros.ros.node_config import EngineSection, NodeConfig, declare_and_read
from fpose_ros.ros.object_outputs import OUTPUT_QOS, FrameTiming, ObjectOutputs
from fpose_ros.ros.rate_limited_log import RateLimitedLogger
from fpose_ros.ros.tf_broadcast import make_transform_broadcaster
from fpose_ros.ros.time_sync import implementation_name, make_synchronizer, stamp_ns

ENGINE_SECTIONS = (EngineSection("engine", EstimatorConfig), EngineSection("loss", LossCriteria))
INPUT_TOPICS = ("color/image_raw", "depth/image_raw", "color/camera_info")
MASK_TOPIC = "mask"
DETECTIONS_2D_TOPIC = "detections_2d"
DETECTIONS_TOPIC = "detections"
_COLOR, _DEPTH, _INFO = range(3)


@dataclass(frozen=True)
class SyncedFrame:
    """One synchronized colour / depth / camera_info set, still as ROS messages (converted by the worker)."""

    color: Image
    depth: Image
    info: CameraInfo
    stamp_ns: int
    received_s: float  # time.monotonic() when the set was complete


class FposeNode(Node):
    """Registers and tracks one object (``mesh_file``) in a colour + registered depth stream.

    Raises:
        ConfigError: a parameter is invalid (the message names each one and why).
        MeshError: ``mesh_file`` cannot be loaded.
    """

    def __init__(self) -> None:
        super().__init__("fpose_node")
        self._config: NodeConfig = declare_and_read(self, ENGINE_SECTIONS)
        config = self._config
        self._warn = RateLimitedLogger(self.get_logger().warning, config.warn_period_s)
        model = load_object_model(config.mesh_file, scale=config.mesh_scale)

        # Engine state; the worker thread is the only one that touches the tracker and the model.
        self._model = model
        self._tracker = self._make_tracker(model)
        self._mode = TrackingMode.REGISTERING
        self._pending_model: tuple[ObjectModel, str, float] | None = None
        self._reset_reason: str | None = None
        self._state_lock = threading.Lock()  # guards _mode, _pending_model, _reset_reason, _frames_processed
        self._frames_processed = 0
        self._warned_distortion = False
        self._latest_header: Header | None = None
        self._processed_at_last_diagnostic = 0

        # A registration starts from a mask or from a detector box (the mask is made from the box and the depth).
        self._scheduler: FrameScheduler[SyncedFrame, Image | Detection2D] = FrameScheduler(FrameSchedulerConfig(
            history_size=config.frame_history_size, mask_history_size=config.mask_queue_size,
            mask_slop_ns=int(config.mask_slop_s * 1e9), catch_up_budget_s=config.catch_up_budget_s))
        self._sync = make_synchronizer(3, config.sync_queue_size, config.sync_slop_s, self._on_synced)

        # sensor_data = best effort: receives from reliable and best-effort publishers alike, never stalls them.
        reliability = ReliabilityPolicy.RELIABLE if config.input_qos == "reliable" else ReliabilityPolicy.BEST_EFFORT
        input_qos = QoSProfile(depth=config.input_qos_depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                               durability=DurabilityPolicy.VOLATILE)
        self._topics = tuple(self.resolve_topic_name(t) for t in INPUT_TOPICS)
        self._monitor = InputMonitor(self._topics, config.input_timeout_s)
        for index, (topic, msg_type) in enumerate(zip(INPUT_TOPICS, (Image, Image, CameraInfo), strict=True)):
            self.create_subscription(msg_type, topic, lambda msg, i=index: self._on_input(i, msg), input_qos)
        self._mask_topic = self.resolve_topic_name(MASK_TOPIC)
        self.create_subscription(Image, MASK_TOPIC, self._on_mask, input_qos)
        self._detections_2d_topic = self.resolve_topic_name(DETECTIONS_2D_TOPIC)
        self.create_subscription(Detection2DArray, DETECTIONS_2D_TOPIC, self._on_detections_2d, input_qos)

        self._outputs = ObjectOutputs(self, "", config.object_frame,
                                      make_transform_broadcaster(self) if config.publish_tf else None,
                                      class_id=config.class_id)
        self._detections_pub = self.create_publisher(Detection3DArray, DETECTIONS_TOPIC, OUTPUT_QOS)
        self._outputs.set_model(model, config.mesh_file, config.mesh_scale, header=None)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_diagnostic_s = time.monotonic()
        self.create_timer(1.0, self._on_timer)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker = threading.Thread(target=self._work, name="fpose_engine", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"tracking '{model.name}' ({model.diameter * 100:.1f} cm across) as TF frame '{config.object_frame}'; "
            f"inputs {', '.join(self._topics)} ({config.input_qos} QoS, {implementation_name(self._sync)} sync, "
            f"slop {config.sync_slop_s} s), masks on {self._mask_topic}, boxes of class "
            f"'{config.class_id}' on {self._detections_2d_topic}")

    # ---------------------------------------------------------------- engine construction

    def _make_tracker(self, model: ObjectModel) -> ObjectTracker:
        estimator = build_estimator(model, EstimatorConfig(**self._config.engine))
        estimator.warm_up()
        return ObjectTracker(estimator, LossCriteria(**self._config.loss))

    # ---------------------------------------------------------------- subscription callbacks (no heavy work)

    def _on_input(self, index: int, msg: Image | CameraInfo) -> None:
        jump = self._monitor.record(index, stamp_ns(msg), time.monotonic())
        if jump is not None:
            self._reset_inputs(f"stamps on {self._topics[index]} jumped back by {jump:.3f} s (bag looped or "
                               "clock reset): synchronization and tracking restart", key="time_jump")
        if index == _COLOR:
            self._latest_header = msg.header
        self._sync.add(index, msg)

    def _on_synced(self, color: Image, depth: Image, info: CameraInfo) -> None:
        now = time.monotonic()
        self._monitor.record_set(now)
        frame = SyncedFrame(color, depth, info, stamp_ns(color), now)
        self._scheduler.push_frame(frame.stamp_ns, frame)

    def _on_mask(self, msg: Image) -> None:
        self._scheduler.push_mask(stamp_ns(msg), msg)

    def _on_detections_2d(self, msg: Detection2DArray) -> None:
        """The object's box (its ``class_id``'s only detection) goes where masks go; problems go to the status."""
        class_id = self._config.class_id
        if not class_id:
            self._report("detections:no_class", msg.header, f"{self._detections_2d_topic}: boxes ignored: the "
                                                            "parameter class_id is empty (which class is the object?)")
            return
        choice = select_detection(msg, class_id)
        if choice.problem is not None:
            self._report(f"detections:{choice.problem[:40]}", msg.header,
                         f"{self._detections_2d_topic}: {choice.problem}")
        if choice.detection is not None:
            self._scheduler.push_mask(stamp_ns(msg), choice.detection)

    def _report(self, key: str, header: Header, message: str) -> None:
        """A rate-limited warning, on the log and in ``status``."""
        if self._warn.log(key, message):
            self._outputs.publish_status(header, self.mode, message)

    def _reset_inputs(self, reason: str, key: str) -> None:
        self._warn.log(key, reason)
        self._sync.reset()
        self._scheduler.reset(clear_frames=True, clear_masks=True)
        with self._state_lock:
            self._reset_reason = reason

    # ---------------------------------------------------------------- control interfaces

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._scheduler.reset(clear_masks=True)  # "the next frame that has a mask": not one from before the reset
        with self._state_lock:
            self._reset_reason = "reset requested on ~/reset"
        self._scheduler.wake()
        response.success = True
        response.message = "tracking reset: the node re-registers on the next frame that has a mask"
        return response

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Load a new mesh when ``mesh_file`` / ``mesh_scale`` change; refuse the change if it cannot be loaded."""
        changed = {p.name: p.value for p in parameters}
        if not changed.keys() & {"mesh_file", "mesh_scale"}:
            return SetParametersResult(successful=True)
        mesh_file = changed.get("mesh_file", self.get_parameter("mesh_file").value)
        mesh_scale = changed.get("mesh_scale", self.get_parameter("mesh_scale").value)
        try:
            if not mesh_file:
                raise MeshError("mesh_file cannot be empty")
            model = load_object_model(mesh_file, scale=mesh_scale)
        except MeshError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        with self._state_lock:
            self._pending_model = (model, mesh_file, mesh_scale)
        self._scheduler.reset(clear_masks=True)  # they show the previous object
        self._scheduler.wake()
        self.get_logger().info(f"mesh changed to {mesh_file} (scale {mesh_scale}): re-registering")
        return SetParametersResult(successful=True)

    def _on_timer(self) -> None:
        problem = self._monitor.problem(time.monotonic(), self._config.sync_slop_s)
        if problem is not None:
            self._warn.log("inputs", problem)
            if self._latest_header is not None:
                self._outputs.publish_status(self._latest_header, self.mode, problem)
        self._publish_diagnostics(problem)

    def _publish_diagnostics(self, problem: str | None) -> None:
        now = time.monotonic()
        with self._state_lock:
            processed, mode = self._frames_processed, self._mode
        rate = (processed - self._processed_at_last_diagnostic) / max(now - self._last_diagnostic_s, 1e-6)
        self._processed_at_last_diagnostic, self._last_diagnostic_s = processed, now
        if problem is not None:
            level, message = DiagnosticStatus.ERROR, problem
        elif mode is TrackingMode.TRACKING:
            level, message = DiagnosticStatus.OK, "tracking"
        else:
            level, message = DiagnosticStatus.WARN, mode.value
        values = {"mode": mode.value, "processed_rate_hz": f"{rate:.1f}", "frames_processed": str(processed),
                  "frames_dropped": str(self._scheduler.skipped), "mesh_file": self.get_parameter("mesh_file").value}
        status = DiagnosticStatus(level=level, name=f"{self.get_fully_qualified_name()}: {self._config.object_frame}",
                                  message=message, hardware_id=self._topics[_COLOR],
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        self._diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                      status=[status]))

    # ---------------------------------------------------------------- worker thread

    @property
    def mode(self) -> TrackingMode:
        """The tracker's mode after the last frame (read by callbacks, written by the worker)."""
        with self._state_lock:
            return self._mode

    def _work(self) -> None:
        while not self._scheduler.closed:
            job = self._scheduler.next_job(timeout=0.2)
            if self._scheduler.closed:
                return
            self._apply_requests()
            if job is None:
                continue
            start = time.perf_counter()
            try:
                self._process(job)
                tracking = self.mode is TrackingMode.TRACKING
            except Exception as exc:  # the node must survive anything one frame can cause
                self._warn.log(f"worker:{type(exc).__name__}", f"frame processing failed: {type(exc).__name__}: "
                                                               f"{exc}\n{traceback.format_exc()}")
                with self._state_lock:
                    self._reset_reason = f"internal error: {exc}"
                tracking = False  # registers again; the masks held stay usable
            self._scheduler.done(job, tracking=tracking, processing_s=time.perf_counter() - start)

    def _apply_requests(self) -> None:
        """Mesh changes and resets requested by other threads, applied between frames."""
        with self._state_lock:
            pending, self._pending_model = self._pending_model, None
            reason, self._reset_reason = self._reset_reason, None
        if pending is not None:
            model, mesh_file, mesh_scale = pending
            self._model = model
            self._tracker = self._make_tracker(model)
            self._outputs.set_model(model, mesh_file, mesh_scale, self._latest_header)
            self._set_mode(TrackingMode.REGISTERING)
        if reason is not None:
            self._tracker.reset()
            self._set_mode(TrackingMode.REGISTERING)
            self.get_logger().info(f"tracking reset: {reason}")

    def _process(self, job: Job[SyncedFrame, Image | Detection2D]) -> None:
        item, mask_msg = job.frame, job.mask if job.kind is JobKind.REGISTER else None
        header = item.color.header
        try:
            frame = self._to_frame(item)
        except InputError as exc:
            message = f"frame at {header.stamp.sec}.{header.stamp.nanosec:09d} skipped: {exc}"
            self._warn.log(f"frame:{type(exc).__name__}:{str(exc)[:40]}", message)
            self._outputs.publish_status(header, self.mode, message)
            return
        mask = self._to_mask(mask_msg, frame, header) if mask_msg is not None else None
        start = time.perf_counter()
        if job.earlier is not None:
            self._note_earlier_mask(*job.earlier)
        result = self._tracker.process(frame, mask)
        processing_ms = (time.perf_counter() - start) * 1e3
        with self._state_lock:
            self._frames_processed += 1
            processed = self._frames_processed
        timing = FrameTiming(processing_ms, item.received_s, processed, self._scheduler.skipped)
        self._outputs.publish_result(header, result, timing)
        detection = self._outputs.detection(header, result)
        self._detections_pub.publish(detection_3d_array(header, [] if detection is None else [detection]))
        if self._outputs.overlay_wanted:
            self._outputs.publish_overlay(header, frame.rgb, frame.intrinsics, result)
        self._set_mode(result.mode)  # the scheduler discards frames and masks from before a loss
        if job.kind is JobKind.REGISTER:
            _node_env.release_free_memory()  # the registration's temporaries, freed by now (see the module)

    def _set_mode(self, mode: TrackingMode) -> None:
        with self._state_lock:
            previous, self._mode = self._mode, mode
        if mode is not previous:
            self.get_logger().info(f"{previous.value} -> {mode.value}")

    def _to_frame(self, item: SyncedFrame) -> RGBDFrame:
        """Convert and validate one synchronized set; raises InputError naming the topic and the problem."""
        color_topic, depth_topic, info_topic = self._topics
        try:
            rgb = color_to_rgb(item.color)
        except InputError as exc:
            raise InputError(f"{color_topic}: {exc}") from exc
        try:
            depth = depth_to_metres(item.depth, self._config.depth_scale)
        except InputError as exc:
            raise InputError(f"{depth_topic}: {exc}") from exc
        if not depth.any():  # O(H * W); the engine could only fail later with a vaguer reason
            raise InputError(f"{depth_topic} has no valid depth (every pixel 0 or NaN): nothing to register or "
                             "track on")
        info = item.info
        if (info.width, info.height) != (item.color.width, item.color.height):
            raise InputError(f"{info_topic} is for {info.width}x{info.height} images but {color_topic} is "
                             f"{describe(item.color)}: camera_info must describe the colour image")
        try:
            intrinsics = CameraIntrinsics.from_matrix(info.k, info.width, info.height)
        except InputError as exc:
            raise InputError(f"{info_topic}: {exc} (is the camera calibrated?)") from exc
        if not self._warned_distortion and any(abs(d) > 1e-6 for d in info.d):
            self._warned_distortion = True
            self.get_logger().warning(f"{info_topic} has distortion coefficients {list(info.d)}: the engine "
                                      "assumes rectified images (subscribe to image_rect if the camera has one)")
        if depth.shape != rgb.shape[:2]:
            raise InputError(f"{depth_topic} is {describe(item.depth)} but {color_topic} is {describe(item.color)}: "
                             "depth must be registered to colour (RealSense: align_depth.enable:=true)")
        return RGBDFrame(rgb=rgb, depth=depth, intrinsics=intrinsics, stamp_s=item.stamp_ns * 1e-9)

    def _note_earlier_mask(self, item: SyncedFrame, msg: Image | Detection2D) -> None:
        """Give the tracker the mask of a frame before the one registered on: the object's velocity comes from both."""
        try:
            frame = self._to_frame(item)
        except InputError:
            return  # a frame that is never processed: its velocity is only a start for tracking
        mask = self._to_mask(msg, frame, item.color.header)
        if mask is not None:
            self._tracker.note_mask(frame, mask)

    def _to_mask(self, msg: Image | Detection2D, frame: RGBDFrame, header: Header) -> np.ndarray | None:
        """The object's mask for ``frame`` (from a mask image or a box), or None (with a warning) when unusable.

        Each kind of problem is rate-limited on its own, so a new problem is reported at once.
        """
        if isinstance(msg, Detection2D):
            try:
                return mask_from_box(frame.depth, box_of_detection(msg), self._model.diameter)
            except InputError as exc:
                self._report("detections:box", header, f"{self._detections_2d_topic}: box ignored: {exc}")
                return None
        try:
            mask = mask_to_bool(msg, self._config.mask_label)
        except InputError as exc:
            self._warn.log("mask:decode", f"{self._mask_topic}: {exc}")
            return None
        if mask.shape != frame.shape:
            self._warn.log("mask:size", f"{self._mask_topic} is {describe(msg)} but the frame is "
                                        f"{frame.shape[1]}x{frame.shape[0]}: mask ignored")
            return None
        if not mask.any():
            self._warn.log("mask:empty", f"{self._mask_topic}: mask has no object pixels (mask_label = "
                                         f"{self._config.mask_label}): ignored")
            return None
        return mask

    # ---------------------------------------------------------------- shutdown

    def close(self) -> None:
        """Stop the worker thread (before the node is destroyed)."""
        self._scheduler.close()
        self._worker.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``fpose_node`` (console script, ``python -m fpose_ros.node``, ``ros2 run``)."""
    # The engine thread releases the GIL in every torch op and must get it back at once afterwards;
    # with the default 5 ms switch interval the executor thread holds it that long each time (2 cores,
    # `make demo` bag: latency p50 / p90 16 / 20-22 ms against 17-18 / 22-24 ms). With that, torch's
    # default of all cores is kept; OMP_NUM_THREADS still sets it.
    sys.setswitchinterval(0.0005)
    rclpy.init(args=args)
    try:
        node = FposeNode()
    except (ConfigError, MeshError) as exc:
        print(f"[fpose_node] cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
