"""Learned refiner: FoundationPose's RefineNet behind the :class:`~fpose_ros.core.refinement.base.Refiner` interface.

Each iteration renders every pose on its pose-conditioned crop (crop ratio and side S from the checkpoint's
config: 1.2 and 160 px for the released one), warps the observation into the same window, runs the network on
the (rendering, observation) pairs and applies the decoded step in the camera frame
(:mod:`fpose_ros.core.nets.pose_update`). Cost per iteration: N renderings of S^2 pixels plus N network
pairs (~22 GFLOP each at the released size); pairs go through in chunks of at most ``batch_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.nets.batching import AdaptiveBatcher, inference_context
from fpose_ros.core.nets.config import RefineNetConfig, crop_size
from fpose_ros.core.nets.pair_inputs import make_pairs
from fpose_ros.core.nets.pose_update import REFINER_MIN_Z_M, apply_pose_update, decode_refiner_output
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.object_model import ObjectModel
from fpose_ros.core.observation import Observation
from fpose_ros.core.rendering.base import MeshTensors, Renderer
from fpose_ros.core.validated_config import param, validate


@dataclass(frozen=True)
class LearnedRunConfig:
    """How the learned refiner and scorer run their network (each field's meaning and range: its ``param``)."""

    # The crops of one call, ~30 MB per pair in float32 on a CPU, dominate the memory.
    batch_size: int = param(32, "Largest number of crop pairs per network call; halved automatically after an "
                                "out-of-memory error.", range=(1, None))
    amp: bool = param(True, "On CUDA, run the network under float16 autocast (FoundationPose's setting); the CPU "
                            "always runs float32.")

    def __post_init__(self) -> None:
        validate(self)


class MeshCache:
    """The :class:`MeshTensors` of the last object model seen, rebuilt when the model or device changes."""

    def __init__(self) -> None:
        self._key: tuple[int, torch.device] | None = None
        self._mesh: MeshTensors | None = None

    def get(self, model: ObjectModel, device: torch.device) -> MeshTensors:
        """Tensors of ``model`` on ``device``. O(V + F) on a miss, O(1) on a hit."""
        key = (id(model), device)
        if self._key != key or self._mesh is None:
            self._mesh = MeshTensors.from_object_model(model, device)
            self._key = key
        return self._mesh


def check_poses(T_cam_centered: torch.Tensor) -> None:
    """Raise InputError unless ``T_cam_centered`` is a (B, 4, 4) floating tensor of finite values."""
    if T_cam_centered.dim() != 3 or T_cam_centered.shape[-2:] != (4, 4) or not T_cam_centered.is_floating_point():
        raise InputError(f"T_cam_centered must be a (B, 4, 4) float tensor, got {tuple(T_cam_centered.shape)} "
                         f"{T_cam_centered.dtype}")
    if not bool(torch.isfinite(T_cam_centered).all()):
        raise InputError("T_cam_centered has non-finite values")


class LearnedRefiner:
    """Iterative render-and-compare refinement with a :class:`RefineNet` (implements ``Refiner``).

    Args:
        renderer: draws the crops (on the observation's device).
        net: the network, in eval mode (see :func:`~fpose_ros.core.nets.load_refine_net`); moved to the
            observation's device on first use.
        net_config: its checkpoint config (crop ratio, rotation normaliser).
        run: batching and precision.
    """

    def __init__(
        self,
        renderer: Renderer,
        net: RefineNet,
        net_config: RefineNetConfig | None = None,
        run: LearnedRunConfig | None = None,
    ) -> None:
        self.renderer = renderer
        self.net = net.eval()
        self.net_config = net_config or RefineNetConfig()
        self.run = run or LearnedRunConfig()
        self._batcher = AdaptiveBatcher(self.run.batch_size)
        self._meshes = MeshCache()

    def refine(
        self, model: ObjectModel, observation: Observation, T_cam_centered: torch.Tensor, iterations: int
    ) -> torch.Tensor:
        """Refine B poses of the centred object frame.

        Args:
            model: the object.
            observation: the frame (its device is where everything runs).
            T_cam_centered: (B, 4, 4) float poses, camera frame, metres.
            iterations: network steps, each re-rendering at the current pose (FoundationPose: 5 when
                registering, 2 when tracking).

        Returns:
            (B, 4, 4) float32 refined poses. O(iterations * B) renderings and network pairs.
        """
        check_poses(T_cam_centered)
        if not isinstance(iterations, int) or iterations < 0:
            raise ConfigError(f"iterations must be a non-negative integer, got {iterations!r}")
        device = observation.depth.device
        self.net.to(device)
        mesh = self._meshes.get(model, device)
        T = T_cam_centered.to(device=device, dtype=torch.float32)
        for _ in range(iterations):
            T = self._iterate(mesh, model.diameter, observation, T)
        return T

    def _iterate(self, mesh: MeshTensors, diameter: float, observation: Observation, T: torch.Tensor) -> torch.Tensor:
        """One network step for all (B, 4, 4) poses, in adaptive chunks -> (B, 4, 4)."""
        steps = self._batcher.map(T.shape[0], lambda a, b: self._step(mesh, diameter, observation, T[a:b]))
        return torch.cat(steps) if steps else T

    def _step(self, mesh: MeshTensors, diameter: float, observation: Observation, T: torch.Tensor) -> torch.Tensor:
        """One network step for a chunk of (n, 4, 4) poses -> (n, 4, 4)."""
        A, B = make_pairs(self.renderer, mesh, observation, T, diameter, self.net_config.crop_ratio,
                          REFINER_MIN_Z_M, crop_size(self.net_config))
        with inference_context(T.device, self.run.amp):
            trans_out, rot_out = self.net(A, B)
        dt, dR = decode_refiner_output(trans_out, rot_out, diameter, self.net_config.rot_normalizer)
        return apply_pose_update(T, dt, dR)
