"""Configuration of the learned networks, as stored in a checkpoint directory's ``config.yml``.

FoundationPose's ``config.yml`` files hold many training-only fields; only the fields below matter for
inference. Six input channels and BatchNorm are fixed; the crop size (``input_resize``, square, a multiple of
8) and ``width`` (a channel multiplier, our addition: absent in official files, which means the released 1.0)
set the network's size, so narrower networks trained with ``train --small`` load through the same code. The
rest sets how crops are cut and outputs decoded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fpose_ros.core.errors import ConfigError

#: Input channels: RGB then xyz.
C_IN = 6
#: Crop side of the released networks, pixels (400 tokens: 160 / 8 = 20 per side).
INPUT_SIZE = 160
#: Accepted crop sides, pixels (multiples of 8 within these bounds).
INPUT_SIZE_RANGE = (32, 512)
#: Accepted channel multipliers (exclusive lower bound, inclusive upper).
WIDTH_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class RefineNetConfig:
    """Inference-relevant fields of the refiner's ``config.yml`` (defaults = released ``2023-10-28-18-33-37``).

    Attributes:
        c_in: input channels (6).
        input_resize: crop size (height, width) in pixels ((160, 160)); square, a multiple of 8.
        width: channel multiplier of the network (1.0 = released).
        crop_ratio: crop window radius / object radius.
        normalize_xyz: xyz inputs and translation outputs are in object radii (must be true).
        use_BN: the encoders use BatchNorm (must be true: the keys exist only then).
        rot_rep: rotation output representation ("axis_angle").
        trans_rep: translation output representation ("tracknet").
        rot_normalizer: largest rotation step per axis, radians (20 deg).
        trans_normalizer: per-axis translation scale of the tracknet representation, metres; a training
            setting that inference does not apply (see :mod:`fpose_ros.core.nets.pose_update`).
    """

    c_in: int = C_IN
    input_resize: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)
    width: float = 1.0
    crop_ratio: float = 1.2
    normalize_xyz: bool = True
    use_BN: bool = True
    rot_rep: str = "axis_angle"
    trans_rep: str = "tracknet"
    rot_normalizer: float = math.radians(20.0)
    trans_normalizer: tuple[float, float, float] = (0.02, 0.02, 0.05)

    #: Fields a ``config.yml`` must state; absent others take the released values.
    REQUIRED = ("c_in", "crop_ratio", "rot_normalizer")

    def __post_init__(self) -> None:
        _check(self, {
            **_common_checks(self),
            "rot_rep must be 'axis_angle'": self.rot_rep == "axis_angle",
            "trans_rep must be 'tracknet'": self.trans_rep == "tracknet",
            "rot_normalizer must be in (0, pi]": 0 < self.rot_normalizer <= math.pi,
            "trans_normalizer must be 3 positive numbers":
                len(self.trans_normalizer) == 3 and all(v > 0 for v in self.trans_normalizer),
        })


@dataclass(frozen=True)
class ScoreNetConfig:
    """Inference-relevant fields of the scorer's ``config.yml`` (defaults = released ``2024-01-11-20-02-45``).

    Attributes:
        c_in: input channels (6).
        input_resize: crop size (height, width) in pixels ((160, 160)); square, a multiple of 8.
        width: channel multiplier of the network (1.0 = released).
        crop_ratio: crop window radius / object radius.
        normalize_xyz: xyz inputs are in object radii (must be true).
        use_BN: the encoders use BatchNorm (must be true).
    """

    c_in: int = C_IN
    input_resize: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)
    width: float = 1.0
    crop_ratio: float = 1.1
    normalize_xyz: bool = True
    use_BN: bool = True

    REQUIRED = ("c_in", "crop_ratio")

    def __post_init__(self) -> None:
        _check(self, _common_checks(self))


NetConfig = TypeVar("NetConfig", RefineNetConfig, ScoreNetConfig)


def config_from_mapping(cls: type[NetConfig], data: Any, source: str) -> NetConfig:
    """Build ``cls`` from a parsed ``config.yml``: known fields only, required ones present, values valid.

    Args:
        cls: :class:`RefineNetConfig` or :class:`ScoreNetConfig`.
        data: the parsed YAML document (a mapping).
        source: file name for error messages.

    Raises:
        ConfigError: not a mapping, a required field missing, a value of the wrong type or unsupported.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    missing = [name for name in cls.REQUIRED if name not in data]
    if missing:
        raise ConfigError(f"{source}: missing required field(s) {', '.join(missing)}")
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            values[field.name] = _coerce(field.name, data[field.name], type(getattr(cls(), field.name)), source)
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def crop_size(config: RefineNetConfig | ScoreNetConfig) -> int:
    """The network's square crop side, pixels."""
    return int(config.input_resize[0])


def config_to_mapping(config: RefineNetConfig | ScoreNetConfig) -> dict[str, Any]:
    """The config as plain YAML-ready values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def _coerce(name: str, value: Any, kind: type, source: str) -> Any:
    """Convert a YAML value to the field's type (lists to tuples, ints to floats); refuse anything else."""
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        tuple: isinstance(value, (list, tuple))
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value),
    }[kind]
    if not ok:
        raise ConfigError(f"{source}: field {name} must be a {kind.__name__}, got {value!r}")
    return tuple(value) if kind is tuple else kind(value)


def _common_checks(config: RefineNetConfig | ScoreNetConfig) -> dict[str, bool]:
    """Requirement message -> whether ``config`` meets it, for the fields both networks share."""
    size = tuple(config.input_resize)
    lo, hi = INPUT_SIZE_RANGE
    return {
        f"c_in must be {C_IN} (RGB + xyz)": config.c_in == C_IN,
        f"input_resize must be [S, S] with S a multiple of 8 in [{lo}, {hi}]":
            len(size) == 2 and size[0] == size[1] and size[0] % 8 == 0 and lo <= size[0] <= hi,
        f"width must be in ({WIDTH_RANGE[0]}, {WIDTH_RANGE[1]}]": WIDTH_RANGE[0] < config.width <= WIDTH_RANGE[1],
        "crop_ratio must be positive": config.crop_ratio > 0,
        "normalize_xyz must be true": config.normalize_xyz is True,
        "use_BN must be true": config.use_BN is True,
    }


def _check(config: RefineNetConfig | ScoreNetConfig, checks: dict[str, bool]) -> None:
    problems = [message for message, ok in checks.items() if not ok]
    if problems:
        raise ConfigError(f"{type(config).__name__}: unsupported values: {'; '.join(problems)} (got {config})")
