"""``fpose_node``: 6D pose of known objects in an RGB-D stream, as a ROS 2 node.

Run: ``ros2 run fpose_ros fpose_node --ros-args -p mesh_file:=/path/obj.ply`` on a ROS 2
install, or ``python -m fpose_ros.node --ros-args ...`` / ``fpose_node --ros-args ...`` here;
several objects: ``object_names`` and ``objects.<name>.*`` (config/fpose_objects.yaml).
Topics, parameters and the service are listed in docs/ros_interface.md.

Threads: subscription callbacks only store messages (synchronizer, each object's frame scheduler)
and run on a single-threaded executor; one worker thread per object runs the engine and publishes
(:mod:`fpose_ros.ros.object_worker`), so the inputs never wait for the engine and one object's
registration never waits for another's. Not rclpy's MultiThreadedExecutor:
its spin thread re-queues callbacks that are still waiting for a pool thread and holds the GIL
doing so (ros2/rclpy#1223, #1452); measured here (scripts/bench_executor_latency.py) it delayed a
640x480 image by 10-40 ms median against 2-5 ms, and the demo's latency p90 was 86-113 ms against 20-24 ms.
"""

from __future__ import annotations

import sys
import time

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
from vision_msgs.msg import Detection2DArray, Detection3DArray

from fpose_ros import _node_env  # noqa: F401 - before torch: OpenMP threads must not spin (see the module)
from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError, InputError, MeshError
from fpose_ros.core.estimator import EstimatorConfig, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.object_model import ObjectModel, load_object_model
from fpose_ros.core.pose_result import TrackingMode
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker
from fpose_ros.ros.detection_messages import detection_3d_array, select_detection
from fpose_ros.ros.frame_scheduler import FrameSchedulerConfig
from fpose_ros.ros.image_conversion import color_to_rgb, depth_to_metres, describe, selects_nothing
from fpose_ros.ros.input_monitor import InputMonitor
from fpose_ros.ros.markers import object_colour
from fpose_ros.ros.node_config import EngineSection, NodeConfig, declare_and_read
from fpose_ros.ros.object_group import SharedConversion, StampGrouper
from fpose_ros.ros.object_outputs import OUTPUT_QOS, ObjectOutputs
from fpose_ros.ros.object_worker import FrameOutput, ObjectWorker, SyncedFrame, WorkerShared
from fpose_ros.ros.rate_limited_log import RateLimitedLogger
from fpose_ros.ros.tf_broadcast import make_transform_broadcaster
from fpose_ros.ros.time_sync import implementation_name, make_synchronizer, stamp_ns

ENGINE_SECTIONS = (EngineSection("engine", EstimatorConfig), EngineSection("loss", LossCriteria))
INPUT_TOPICS = ("color/image_raw", "depth/image_raw", "color/camera_info")
DETECTIONS_2D_TOPIC = "detections_2d"
DETECTIONS_TOPIC = "detections"
_COLOR, _DEPTH, _INFO = range(3)


class FposeNode(Node):
    """Registers and tracks known objects (``mesh_file``, or ``object_names``) in a colour + registered depth stream.

    Raises:
        ConfigError: a parameter is invalid (the message names each one and why).
        MeshError: ``mesh_file`` cannot be loaded.
    """

    def __init__(self) -> None:
        super().__init__("fpose_node")
        self._config: NodeConfig = declare_and_read(self, ENGINE_SECTIONS)
        config = self._config
        self._warn = RateLimitedLogger(self.get_logger().warning, config.warn_period_s)
        models = [load_object_model(o.mesh_file, scale=o.mesh_scale, symmetry=o.symmetry) for o in config.objects]
        # Engines are built and warmed up before any topic exists: whoever waits for the node's topics
        # (a launch, the tests) then finds it ready to process.
        trackers = [self._make_tracker(model) for model in models]
        self._warned_distortion = False
        self._latest_header: Header | None = None
        self._processed_at_last_diagnostic: dict[str, int] = {}
        self._sync = make_synchronizer(3, config.sync_queue_size, config.sync_slop_s, self._on_synced)

        # sensor_data = best effort: receives from reliable and best-effort publishers alike, never stalls them.
        reliability = ReliabilityPolicy.RELIABLE if config.input_qos == "reliable" else ReliabilityPolicy.BEST_EFFORT
        input_qos = QoSProfile(depth=config.input_qos_depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                               durability=DurabilityPolicy.VOLATILE)
        self._topics = tuple(self.resolve_topic_name(t) for t in INPUT_TOPICS)
        self._monitor = InputMonitor(self._topics, config.input_timeout_s)
        for index, (topic, msg_type) in enumerate(zip(INPUT_TOPICS, (Image, Image, CameraInfo), strict=True)):
            self.create_subscription(msg_type, topic, lambda msg, i=index: self._on_input(i, msg), input_qos)
        mask_topics = sorted({o.mask_source for o in config.objects})
        for topic in mask_topics:
            self.create_subscription(Image, topic, lambda msg, t=topic: self._on_mask(t, msg), input_qos)
        self._detections_2d_topic = self.resolve_topic_name(DETECTIONS_2D_TOPIC)
        self.create_subscription(Detection2DArray, DETECTIONS_2D_TOPIC, self._on_detections_2d, input_qos)

        # Shared by the objects' workers: one conversion per frame (kept for the frames workers in step
        # are on), one /tf and one detections message per frame.
        frames: SharedConversion[SyncedFrame, RGBDFrame] = SharedConversion(self._to_frame, 2 * len(models) + 2)
        self._broadcaster = make_transform_broadcaster(self) if config.publish_tf else None
        self._detections_pub = self.create_publisher(Detection3DArray, DETECTIONS_TOPIC, OUTPUT_QOS)
        self._group: StampGrouper[FrameOutput] = StampGrouper([o.name for o in config.objects], self._publish_frame)
        shared = WorkerShared(frames, self._group, FrameSchedulerConfig(
            history_size=config.frame_history_size, mask_history_size=config.mask_queue_size,
            mask_slop_ns=int(config.mask_slop_s * 1e9), catch_up_budget_s=config.catch_up_budget_s,
            backfill_frames=config.backfill_frames),
            self._make_tracker, self._warn, self.get_logger(), self.resolve_topic_name, self._detections_2d_topic)
        self._frames = frames
        self._workers: list[ObjectWorker] = []
        several = len(config.objects) > 1
        for index, (object_config, model, tracker) in enumerate(zip(config.objects, models, trackers, strict=True)):
            outputs = ObjectOutputs(self, object_config.topic_prefix, object_config.tf_frame, object_config.class_id,
                                    colour=object_colour(index) if several else None)
            outputs.set_model(model, object_config.mesh_file, object_config.mesh_scale, header=None)
            self._workers.append(ObjectWorker(object_config, model, tracker, outputs, shared))
        self.create_service(Trigger, "~/reset", self._on_reset)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_diagnostic_s = time.monotonic()
        self.create_timer(1.0, self._on_timer)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        tracked = ", ".join(f"'{m.name}' ({m.diameter * 100:.1f} cm across) as TF frame '{o.tf_frame}'"
                            + (f" (mask label {o.mask_label})" if o.mask_label else "")
                            + (f" (boxes of class '{o.class_id}')" if o.class_id else "")
                            + (f" (symmetries {', '.join((*o.symmetry_axes, *o.symmetry_planes))})"
                               if len(m.symmetries) > 1 else "")
                            for o, m in zip(config.objects, models, strict=True))
        self.get_logger().info(
            f"tracking {tracked}; inputs {', '.join(self._topics)} ({config.input_qos} QoS, "
            f"{implementation_name(self._sync)} sync, slop {config.sync_slop_s} s), masks on "
            f"{', '.join(self.resolve_topic_name(t) for t in mask_topics)}, boxes on {self._detections_2d_topic}")

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
        for worker in self._workers:
            worker.scheduler.push_frame(frame.stamp_ns, frame)

    def _on_mask(self, topic: str, msg: Image) -> None:
        """A mask or label image: to every object it selects from (each takes its label's pixels).

        Not to an object whose label it does not hold (out of view, or not detected on this frame): for that
        object no mask came.
        """
        stamp = stamp_ns(msg)
        for worker in self._workers:
            if worker.config.mask_source == topic and not selects_nothing(msg, worker.config.mask_label):
                worker.scheduler.push_mask(stamp, msg)

    def _on_detections_2d(self, msg: Detection2DArray) -> None:
        """Each object's box (its ``class_id``'s only detection) goes where its masks go; problems to its status."""
        classes = [w.config.class_id for w in self._workers if w.config.class_id]
        for worker in self._workers:
            class_id = worker.config.class_id
            if not class_id:
                if not classes:
                    worker.report("detections:no_class", msg.header, f"{self._detections_2d_topic}: boxes ignored: "
                                  "the parameter class_id is empty (which class is the object?)")
                continue
            choice = select_detection(msg, class_id, classes)
            if choice.problem is not None:
                worker.report(f"detections:{choice.problem[:40]}", msg.header,
                              f"{self._detections_2d_topic}: {choice.problem}")
            if choice.detection is not None:
                worker.scheduler.push_mask(stamp_ns(msg), choice.detection)

    def _publish_frame(self, _stamp_ns: int, outputs: list[FrameOutput]) -> None:
        """The objects' outputs of one frame: their TF frames in one /tf message, their entries in one detections."""
        transforms = [o.transform for o in outputs if o.transform is not None]
        if transforms and self._broadcaster is not None:
            self._broadcaster.sendTransform(transforms)
        self._detections_pub.publish(detection_3d_array(outputs[0].header,
                                                        [o.detection for o in outputs if o.detection is not None]))

    def _reset_inputs(self, reason: str, key: str) -> None:
        self._warn.log(key, reason)
        self._sync.reset()
        self._frames.clear()
        self._group.reset()
        for worker in self._workers:
            worker.scheduler.reset(clear_frames=True, clear_masks=True)
            worker.request_reset(reason)

    # ---------------------------------------------------------------- control interfaces

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        for worker in self._workers:
            worker.scheduler.reset(clear_masks=True)  # "the next frame that has a mask": not one from before
            worker.request_reset("reset requested on ~/reset")
        response.success = True
        response.message = "tracking reset: the node re-registers on the next frame that has a mask"
        return response

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Load a new mesh when ``mesh_file`` / ``mesh_scale`` change; refuse the change if it cannot be loaded."""
        changed = {p.name: p.value for p in parameters}
        if not changed.keys() & {"mesh_file", "mesh_scale"}:
            return SetParametersResult(successful=True)
        if self._config.multi_object:
            return SetParametersResult(successful=False, reason="this node tracks the objects of object_names: "
                                       "their meshes (objects.<name>.mesh_file) are fixed while it runs")
        mesh_file = changed.get("mesh_file", self.get_parameter("mesh_file").value)
        mesh_scale = changed.get("mesh_scale", self.get_parameter("mesh_scale").value)
        try:
            if not mesh_file:
                raise MeshError("mesh_file cannot be empty")
            # The declared symmetries are read-only: they hold for the new mesh too.
            model = load_object_model(mesh_file, scale=mesh_scale, symmetry=self._config.objects[0].symmetry)
        except MeshError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._workers[0].request_model(model, mesh_file, mesh_scale)
        self.get_logger().info(f"mesh changed to {mesh_file} (scale {mesh_scale}): re-registering")
        return SetParametersResult(successful=True)

    def _on_timer(self) -> None:
        problem = self._monitor.problem(time.monotonic(), self._config.sync_slop_s)
        if problem is not None:
            self._warn.log("inputs", problem)
            if self._latest_header is not None:
                for worker in self._workers:
                    worker.publish_problem(self._latest_header, problem)
        self._publish_diagnostics(problem)

    def _publish_diagnostics(self, problem: str | None) -> None:
        """One status per object: its mode, processing rate and frame counts; ERROR for an input problem."""
        now = time.monotonic()
        elapsed = max(now - self._last_diagnostic_s, 1e-6)
        self._last_diagnostic_s = now
        statuses = []
        for worker in self._workers:
            name, mode, processed = worker.config.name, worker.mode, worker.frames_processed
            rate = (processed - self._processed_at_last_diagnostic.get(name, 0)) / elapsed
            self._processed_at_last_diagnostic[name] = processed
            if problem is not None:
                level, message = DiagnosticStatus.ERROR, problem
            elif mode is TrackingMode.TRACKING:
                level, message = DiagnosticStatus.OK, "tracking"
            else:
                level, message = DiagnosticStatus.WARN, mode.value
            mesh_file = worker.config.mesh_file if self._config.multi_object else \
                self.get_parameter("mesh_file").value
            values = {"mode": mode.value, "processed_rate_hz": f"{rate:.1f}", "frames_processed": str(processed),
                      "frames_dropped": str(worker.scheduler.skipped), "mesh_file": mesh_file}
            statuses.append(DiagnosticStatus(
                level=level, name=f"{self.get_fully_qualified_name()}: {worker.config.tf_frame}", message=message,
                hardware_id=self._topics[_COLOR], values=[KeyValue(key=k, value=v) for k, v in values.items()]))
        self._diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                      status=statuses))

    # ---------------------------------------------------------------- frame conversion (a worker thread)

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

    # ---------------------------------------------------------------- shutdown

    def close(self) -> None:
        """Stop the worker threads (before the node is destroyed)."""
        for worker in self._workers:
            worker.scheduler.close()
        for worker in self._workers:
            worker.close()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``fpose_node`` (console script, ``python -m fpose_ros.node``, ``ros2 run``)."""
    # The engine thread releases the GIL in every torch op and must get it back at once afterwards;
    # with the default 5 ms switch interval the executor thread holds it that long each time (2 cores,
    # `make demo` bag: latency p50 / p90 16 / 20-22 ms against 17-18 / 22-24 ms). With that, torch's
    # default of all cores is kept (a registration leaves one: object_worker); OMP_NUM_THREADS still sets it.
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
