"""The Open3D peer: FPFH + RANSAC global registration and point-to-plane ICP tracking.

This is the standard CPU recipe (Open3D's global-registration tutorial, tuned relative to the
object's size): the model's surface points are matched to the back-projected depth inside the mask
by FPFH features and RANSAC, refined by point-to-plane ICP; tracking runs ICP from the previous
pose against the depth around the previous pose. It has the same ``register`` / ``track`` API as
:class:`~fpose_ros.core.estimator.PoseEstimator`, so :class:`~fpose_ros.core.tracking_state.ObjectTracker`
drives both alike; ``score`` and ``visible_fraction`` are ICP's fitness (inlier fraction).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.frame import RGBDFrame, validate_mask
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.pose_result import PoseResult, StageTimings, TrackingMode
from fpose_ros.core.validated_config import param, validate


def _open3d() -> Any:  # the open3d module (untyped)
    try:
        import open3d as o3d
    except ImportError as exc:
        raise ConfigError("the Open3D peer needs open3d: run `make setup-bench` (pip install open3d; "
                          "apt-get install libusb-1.0-0)") from exc
    return o3d


@dataclass(frozen=True)
class Open3DPeerConfig:
    """Settings, relative to the object's diameter where they are lengths (meaning and range: each ``param``)."""

    voxel_ratio: float = param(0.05, "Voxel size for features and ICP / diameter.", range=(0, None), low_open=True)
    ransac_iterations: int = param(100_000, "RANSAC trials of global registration.", range=(1, None))
    ransac_confidence: float = param(0.999, "RANSAC stopping confidence.", range=(0, 1), low_open=True,
                                     high_open=True)
    icp_iterations: int = param(30, "ICP iterations per call.", range=(1, None))
    track_window: float = param(0.75, "Tracking reads depth within this many diameters of the previous position.",
                                range=(0, None), low_open=True)
    min_depth: float = param(0.1, "Depth nearer than this is invalid, metres.", range=(0, None), low_open=True,
                             unit="metres")
    max_depth: float = param(4.0, "Depth farther than this is invalid, metres.", range=(0, None), low_open=True,
                             unit="metres")

    def __post_init__(self) -> None:
        validate(self, lambda c: [("max_depth", c.max_depth > c.min_depth, "must be larger than min_depth")])


class Open3DPeer:
    """Register and track one object with Open3D (see the module docstring).

    Args:
        model: the object; its surface points and normals, downsampled to the voxel size, are the ICP source.
        config: settings (default :class:`Open3DPeerConfig`).
        seed: Open3D's random seed (RANSAC), for repeatable runs.

    Raises:
        ConfigError: open3d is not installed.
    """

    def __init__(self, model: ObjectModel, config: Open3DPeerConfig | None = None, seed: int = 0) -> None:
        self.o3d = _open3d()
        self.model = model
        self.config = config or Open3DPeerConfig()
        self.voxel = self.config.voxel_ratio * model.diameter
        o3d = self.o3d
        o3d.utility.random.seed(seed)
        source = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(model.surface_points.astype(np.float64)))
        source.normals = o3d.utility.Vector3dVector(model.surface_normals.astype(np.float64))
        self.source = source.voxel_down_sample(self.voxel)
        self.source_features = self._features(self.source)

    def register(self, frame: RGBDFrame, mask: np.ndarray) -> PoseResult:
        """Global registration from the masked depth (FPFH + RANSAC, then point-to-plane ICP).

        Args:
            frame: the RGB-D frame (only depth and intrinsics are used).
            mask: (H, W) bool object mask.

        Returns:
            ``T_cam_centered`` / ``T_cam_obj`` (4x4 float64, camera optical frame); no pose, with a reason,
            when the mask is malformed or holds fewer than 10 depth points after downsampling.
            Cost: O(M) to back-project the mask plus RANSAC (``ransac_iterations`` at most).
        """
        start = time.perf_counter()
        try:
            mask_bool = validate_mask(mask, frame.shape)
        except InputError as exc:
            return self._no_pose(str(exc), TrackingMode.REGISTERING, frame, start)
        target = self._cloud(frame, mask_bool)
        if len(target.points) < 10:
            return self._no_pose("too few depth points in the mask", TrackingMode.REGISTERING, frame, start)
        o3d = self.o3d
        reg = o3d.pipelines.registration
        target_features = self._features(target)
        ransac = reg.registration_ransac_based_on_feature_matching(
            self.source, target, self.source_features, target_features, True, 1.5 * self.voxel,
            reg.TransformationEstimationPointToPoint(False), 3,
            [reg.CorrespondenceCheckerBasedOnEdgeLength(0.9),
             reg.CorrespondenceCheckerBasedOnDistance(1.5 * self.voxel)],
            reg.RANSACConvergenceCriteria(self.config.ransac_iterations, self.config.ransac_confidence))
        return self._icp(frame, target, ransac.transformation, n_hypotheses=1, start=start)

    def track(self, frame: RGBDFrame, previous: PoseResult, *, behind: bool = False,
              backwards: bool = False) -> PoseResult:
        """Point-to-plane ICP from the previous pose against the depth around it.

        Reads only the window around the previous pose's projection (``track_window`` diameters, and
        within that distance in depth): O(window area) plus ``icp_iterations`` ICP steps. No pose when
        ``previous`` has none or the window holds fewer than 10 points. ``behind`` and ``backwards``
        change nothing: this tracker leaves no optional work.
        """
        start = time.perf_counter()
        T_prev = previous.T_cam_centered
        if T_prev is None:
            return self._no_pose("no previous pose", TrackingMode.LOST, frame, start)
        target = self._cloud(frame, None, center=T_prev[:3, 3])
        if len(target.points) < 10:
            return self._no_pose("no depth around the previous pose", TrackingMode.TRACKING, frame, start)
        return self._icp(frame, target, T_prev, n_hypotheses=1, start=start)

    def _icp(self, frame: RGBDFrame, target: Any, T_init: np.ndarray, n_hypotheses: int, start: float
             ) -> PoseResult:
        reg = self.o3d.pipelines.registration
        result = reg.registration_icp(self.source, target, 1.5 * self.voxel, T_init,
                                      reg.TransformationEstimationPointToPlane(),
                                      reg.ICPConvergenceCriteria(max_iteration=self.config.icp_iterations))
        T = np.asarray(result.transformation, dtype=np.float64).copy()
        total = (time.perf_counter() - start) * 1000.0
        return PoseResult(T_cam_obj=self.model.pose_for_mesh_origin(T), T_cam_centered=T, score=float(result.fitness),
                          mode=TrackingMode.TRACKING, stamp_s=frame.stamp_s, n_hypotheses=n_hypotheses,
                          visible_fraction=float(result.fitness), timings=StageTimings(total_ms=total))

    def _cloud(self, frame: RGBDFrame, mask: np.ndarray | None, center: np.ndarray | None = None) -> Any:
        """Back-projected valid depth (inside ``mask``, or within the window around ``center``), downsampled."""
        depth = np.nan_to_num(frame.depth, nan=0.0)
        cam = frame.intrinsics
        valid = (depth > self.config.min_depth) & (depth < self.config.max_depth)
        if mask is not None:
            valid &= mask
        elif center is not None and center[2] > 0:
            # Only the pixels near the previous projection: O(window area), not O(H * W).
            r = self.config.track_window * self.model.diameter
            u0 = cam.fx * center[0] / center[2] + cam.cx
            v0 = cam.fy * center[1] / center[2] + cam.cy
            half = cam.fx * r / max(center[2] - r, 0.05)
            window = np.zeros_like(valid)
            rows = slice(max(0, int(v0 - half)), max(0, int(v0 + half) + 1))
            cols = slice(max(0, int(u0 - half)), max(0, int(u0 + half) + 1))
            window[rows, cols] = True
            valid &= window & (np.abs(depth - center[2]) < r)
        v, u = np.nonzero(valid)
        z = depth[v, u].astype(np.float64)
        points = np.stack([(u - cam.cx) / cam.fx * z, (v - cam.cy) / cam.fy * z, z], axis=1)
        o3d = self.o3d
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points)).voxel_down_sample(self.voxel)
        if len(cloud.points) >= 10:  # callers refuse smaller clouds
            cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=2.5 * self.voxel, max_nn=30))
            cloud.orient_normals_towards_camera_location(np.zeros(3))
        return cloud

    def _features(self, cloud: Any) -> Any:
        o3d = self.o3d
        if not cloud.has_normals():
            cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=2.5 * self.voxel, max_nn=30))
        return o3d.pipelines.registration.compute_fpfh_feature(
            cloud, o3d.geometry.KDTreeSearchParamHybrid(radius=5 * self.voxel, max_nn=100))

    def _no_pose(self, reason: str, mode: TrackingMode, frame: RGBDFrame, start: float) -> PoseResult:
        return PoseResult(None, None, 0.0, mode, stamp_s=frame.stamp_s, reason=reason,
                          timings=StageTimings(total_ms=(time.perf_counter() - start) * 1000.0))
