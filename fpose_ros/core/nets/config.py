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
from typing import Any, ClassVar, TypeVar

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
class NetConfigBase:
    """The fields both networks' ``config.yml`` share, and their checks; use a subclass.

    Attributes:
        c_in: input channels (6).
        input_resize: crop size (height, width) in pixels ((160, 160)); square, a multiple of 8.
        width: channel multiplier of the network (1.0 = released).
        crop_ratio: crop window radius / object radius (each network's released value).
        normalize_xyz: xyz inputs (and the refiner's translation outputs) are in object radii (must be true).
        use_BN: the encoders use BatchNorm (must be true: the keys exist only then).
    """

    c_in: int = C_IN
    input_resize: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)
    width: float = 1.0
    crop_ratio: float = 1.0
    normalize_xyz: bool = True
    use_BN: bool = True

    #: Fields a ``config.yml`` must state; absent others take the released values.
    REQUIRED: ClassVar[tuple[str, ...]] = ("c_in", "crop_ratio")

    def __post_init__(self) -> None:
        size = tuple(self.input_resize)
        lo, hi = INPUT_SIZE_RANGE
        checks = {
            f"c_in must be {C_IN} (RGB + xyz)": self.c_in == C_IN,
            f"input_resize must be [S, S] with S a multiple of 8 in [{lo}, {hi}]":
                len(size) == 2 and size[0] == size[1] and size[0] % 8 == 0 and lo <= size[0] <= hi,
            f"width must be in ({WIDTH_RANGE[0]}, {WIDTH_RANGE[1]}]": WIDTH_RANGE[0] < self.width <= WIDTH_RANGE[1],
            "crop_ratio must be positive": self.crop_ratio > 0,
            "normalize_xyz must be true": self.normalize_xyz is True,
            "use_BN must be true": self.use_BN is True,
            **self._own_checks(),
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ConfigError(f"{type(self).__name__}: unsupported values: {'; '.join(problems)} (got {self})")

    def _own_checks(self) -> dict[str, bool]:
        """Requirement message -> whether it holds, for the fields a subclass adds."""
        return {}


@dataclass(frozen=True)
class RefineNetConfig(NetConfigBase):
    """Inference-relevant fields of the refiner's ``config.yml`` (defaults = released ``2023-10-28-18-33-37``).

    Attributes (besides those of :class:`NetConfigBase`; ``crop_ratio`` 1.2):
        rot_rep: rotation output representation ("axis_angle").
        trans_rep: translation output representation ("tracknet").
        rot_normalizer: largest rotation step per axis, radians (20 deg).
        trans_normalizer: per-axis translation scale of the tracknet representation, metres; a training
            setting that inference does not apply (see :mod:`fpose_ros.core.nets.pose_update`).
    """

    crop_ratio: float = 1.2
    rot_rep: str = "axis_angle"
    trans_rep: str = "tracknet"
    rot_normalizer: float = math.radians(20.0)
    trans_normalizer: tuple[float, float, float] = (0.02, 0.02, 0.05)

    REQUIRED: ClassVar[tuple[str, ...]] = ("c_in", "crop_ratio", "rot_normalizer")

    def _own_checks(self) -> dict[str, bool]:
        return {
            "rot_rep must be 'axis_angle'": self.rot_rep == "axis_angle",
            "trans_rep must be 'tracknet'": self.trans_rep == "tracknet",
            "rot_normalizer must be in (0, pi]": 0 < self.rot_normalizer <= math.pi,
            "trans_normalizer must be 3 positive numbers":
                len(self.trans_normalizer) == 3 and all(v > 0 for v in self.trans_normalizer),
        }


@dataclass(frozen=True)
class ScoreNetConfig(NetConfigBase):
    """Inference-relevant fields of the scorer's ``config.yml`` (defaults = released ``2024-01-11-20-02-45``).

    The fields of :class:`NetConfigBase` only, ``crop_ratio`` 1.1.
    """

    crop_ratio: float = 1.1


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


def crop_size(config: NetConfigBase) -> int:
    """The network's square crop side, pixels."""
    return int(config.input_resize[0])


def config_to_mapping(config: NetConfigBase) -> dict[str, Any]:
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
