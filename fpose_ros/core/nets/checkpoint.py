"""Checkpoint directories in FoundationPose's layout: ``model_best.pth`` (weights) + ``config.yml`` (settings).

Official weights load strictly: every key must be present with the right shape and nothing may be left
over, and a failure names the offending keys. Weights are read with ``torch.load(weights_only=True)``, so a
checkpoint cannot run code. :func:`save_checkpoint` writes the same layout for networks we train.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, overload

import torch
import yaml
from torch import nn

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.nets.config import (
    NetConfig,
    RefineNetConfig,
    ScoreNetConfig,
    config_from_mapping,
    config_to_mapping,
    crop_size,
)
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.nets.score_net import ScoreNet

WEIGHTS_FILE = "model_best.pth"
CONFIG_FILE = "config.yml"
#: How many offending keys an error message lists before summarising.
_MAX_KEYS_LISTED = 10


Net = TypeVar("Net", RefineNet, ScoreNet)


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML loading that also accepts ``!!python/tuple`` (written by ``yaml.dump`` of tuples)."""


_ConfigLoader.add_constructor("tag:yaml.org,2002:python/tuple", lambda loader, node: loader.construct_sequence(node))


def load_refine_net(directory: str | Path, device: torch.device | str = "cpu") -> tuple[RefineNet, RefineNetConfig]:
    """Load a refiner checkpoint directory (e.g. ``weights/2023-10-28-18-33-37``).

    Returns:
        The network on ``device`` in eval mode, and its config.

    Raises:
        ConfigError: missing files, unreadable or unsupported ``config.yml``, unreadable weights, or weights that
            do not match :class:`RefineNet` (missing, unexpected or mis-shaped keys, non-finite values).
    """
    config = read_config(directory, RefineNetConfig)
    return _load_weights(build_net(config), directory, device), config


def load_score_net(directory: str | Path, device: torch.device | str = "cpu") -> tuple[ScoreNet, ScoreNetConfig]:
    """Load a scorer checkpoint directory (e.g. ``weights/2024-01-11-20-02-45``); see :func:`load_refine_net`."""
    config = read_config(directory, ScoreNetConfig)
    return _load_weights(build_net(config), directory, device), config


@overload
def build_net(config: RefineNetConfig) -> RefineNet: ...
@overload
def build_net(config: ScoreNetConfig) -> ScoreNet: ...
def build_net(config: RefineNetConfig | ScoreNetConfig) -> RefineNet | ScoreNet:
    """A freshly initialised network of the size ``config`` describes (channels, width, crop size)."""
    cls = RefineNet if isinstance(config, RefineNetConfig) else ScoreNet
    return cls(config.c_in, config.width, crop_size(config))


def save_checkpoint(
    model: RefineNet | ScoreNet, config: RefineNetConfig | ScoreNetConfig, directory: str | Path
) -> Path:
    """Write ``model_best.pth`` (``{'model': state_dict}``, CPU tensors) and ``config.yml`` into ``directory``.

    Returns the directory. Raises ConfigError when the config does not belong to the network (kind, crop size
    or width).
    """
    expected = RefineNetConfig if isinstance(model, RefineNet) else ScoreNetConfig
    if not isinstance(config, expected):
        raise ConfigError(f"a {type(model).__name__} needs a {expected.__name__}, got {type(config).__name__}")
    problems = state_dict_problems(build_net(config), model.state_dict())
    if problems:
        raise ConfigError(f"the {type(model).__name__} does not have the size its config describes: "
                          + "; ".join(problems))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": state}, directory / WEIGHTS_FILE)
    (directory / CONFIG_FILE).write_text(yaml.safe_dump(config_to_mapping(config), sort_keys=False))
    return directory


def read_config(directory: str | Path, cls: type[NetConfig]) -> NetConfig:
    """Parse and validate ``directory/config.yml`` as ``cls``. Raises ConfigError."""
    path = _existing_file(directory, CONFIG_FILE)
    try:
        data = yaml.load(path.read_text(), Loader=_ConfigLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not readable as YAML: {exc}") from exc
    return config_from_mapping(cls, data, str(path))


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file holding a bare state dict or ``{'model': state_dict}``; tensors on the CPU.

    Raises ConfigError when the file is unreadable, not weights-only, or not a mapping of names to tensors.
    """
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors for bad files
        raise ConfigError(f"{path}: not a readable weights-only PyTorch file: {exc}") from exc
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        loaded = loaded["model"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ConfigError(f"{path}: expected a state dict (names -> tensors), bare or under 'model'")
    return loaded


def state_dict_problems(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Why ``state`` cannot load strictly into ``model``: one line per kind of problem, empty when it can."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [f"{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})"
                 for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    non_finite = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    # Checkpoints saved without module metadata may omit BatchNorm's step counter, which eval mode never
    # reads; torch fills it in on load, so it is no reason to refuse.
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    return [f"{label}: {_key_list(keys)}" for label, keys in (
        ("missing keys", missing), ("unexpected keys", unexpected), ("mis-shaped keys", misshaped),
        ("non-finite values in", non_finite)) if keys]


def _load_weights(model: Net, directory: str | Path, device: torch.device | str) -> Net:
    path = _existing_file(directory, WEIGHTS_FILE)
    state = read_state_dict(path)
    problems = state_dict_problems(model, state)
    if problems:
        raise ConfigError(f"{path} does not match {type(model).__name__}: " + "; ".join(problems))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # only what state_dict_problems tolerates can get here
        raise ConfigError(f"{path} does not match {type(model).__name__}: {exc}") from exc
    return model.to(device).eval()


def _existing_file(directory: str | Path, name: str) -> Path:
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"checkpoint directory not found: {directory} (expected {WEIGHTS_FILE} + {CONFIG_FILE})")
    path = directory / name
    if not path.is_file():
        raise ConfigError(f"{path} not found: a checkpoint directory holds {WEIGHTS_FILE} and {CONFIG_FILE}")
    return path


def _key_list(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_KEYS_LISTED])
    return shown if len(keys) <= _MAX_KEYS_LISTED else f"{shown} and {len(keys) - _MAX_KEYS_LISTED} more"
