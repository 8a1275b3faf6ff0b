"""ROS-free pose engine: numpy / torch / trimesh only.

Frames and units: metres, radians, OpenCV optical camera frame (x right,
y down, z forward). ``T_a_b`` is the 4x4 transform taking points expressed
in frame ``b`` into frame ``a``.

The names below are the public API; submodules and the subpackages (``rendering``, ``refinement``,
``scoring``, ``nets``, ``synthetic``, ``peers``) list theirs in their own ``__all__``.
"""

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.errors import ConfigError, FposeError, InputError, MeshError
from fpose_ros.core.estimator import EngineParts, EstimatorConfig, PoseEstimator, build_estimator
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.metrics import PoseErrors, add_error, adds_error, auc, pose_errors
from fpose_ros.core.object_model import ObjectModel, load_object_model, object_model_from_trimesh
from fpose_ros.core.observation import Observation, observation_from_frame
from fpose_ros.core.pose_result import PoseResult, StageTimings, TrackingMode
from fpose_ros.core.symmetry import Symmetry, parse_symmetry
from fpose_ros.core.tracking_state import LossCriteria, ObjectTracker
from fpose_ros.core.transforms import (
    invert_transform,
    make_transform,
    rotate_vectors,
    rotation_angle,
    so3_exp,
    transform_points,
)

__all__ = [
    "CameraIntrinsics",
    "ConfigError",
    "EngineParts",
    "EstimatorConfig",
    "FposeError",
    "InputError",
    "LossCriteria",
    "MeshError",
    "ObjectModel",
    "ObjectTracker",
    "Observation",
    "PoseErrors",
    "PoseEstimator",
    "PoseResult",
    "RGBDFrame",
    "StageTimings",
    "Symmetry",
    "TrackingMode",
    "add_error",
    "adds_error",
    "auc",
    "build_estimator",
    "invert_transform",
    "load_object_model",
    "make_transform",
    "object_model_from_trimesh",
    "observation_from_frame",
    "parse_symmetry",
    "pose_errors",
    "rotate_vectors",
    "rotation_angle",
    "so3_exp",
    "transform_points",
]
