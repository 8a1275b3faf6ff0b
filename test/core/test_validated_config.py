"""One validated-config mechanism: every configuration dataclass checks its fields against their metadata."""

from __future__ import annotations

import dataclasses
import math

import pytest

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.estimator import EstimatorConfig
from fpose_ros.core.peers.open3d_peer import Open3DPeerConfig
from fpose_ros.core.pose_conditioned_crop import CropConfig
from fpose_ros.core.refinement.geometric import GeometricRefinerConfig
from fpose_ros.core.refinement.learned import LearnedRunConfig
from fpose_ros.core.scoring.geometric import GeometricScorerConfig
from fpose_ros.core.surface_keyframe import KeyframeConfig
from fpose_ros.core.tracking_state import LossCriteria
from fpose_ros.core.validated_config import ParamSpec, param, param_spec, validate
from fpose_ros.ros.frame_scheduler import FrameSchedulerConfig

CONFIGS = (EstimatorConfig, LossCriteria, GeometricRefinerConfig, GeometricScorerConfig, KeyframeConfig,
           LearnedRunConfig, FrameSchedulerConfig, CropConfig, Open3DPeerConfig)


def beyond(spec: ParamSpec) -> list[object]:
    """Values just outside the spec's range (at an open end, the end itself), of the field's own type."""
    low, high = spec.range or (None, None)
    step = 1 if spec.kind is int else 1e-3
    values: list[object] = []
    if low is not None:
        values.append(low if spec.low_open else spec.kind(low - step))
    if high is not None:
        values.append(high if spec.high_open else spec.kind(high + step))
    return [v for v in values if v not in spec.also]


@pytest.mark.parametrize("config_type", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_is_described_and_the_defaults_are_valid(config_type) -> None:
    config_type()  # the defaults pass
    for f in dataclasses.fields(config_type):
        spec = param_spec(f)
        assert spec is not None and spec.description.endswith("."), f"{config_type.__name__}.{f.name}"


@pytest.mark.parametrize("config_type", CONFIGS, ids=lambda c: c.__name__)
def test_an_out_of_range_value_is_refused_with_its_name_and_the_valid_range(config_type) -> None:
    checked = 0
    for f in dataclasses.fields(config_type):
        spec = param_spec(f)
        for value in beyond(spec):
            with pytest.raises(ConfigError) as info:
                config_type(**{f.name: value})
            assert f"{config_type.__name__}: {f.name}={value!r} must be {spec.allowed()}" in str(info.value)
            checked += 1
        for wrong in ("text", None) if spec.kind is not str else (3, None):
            with pytest.raises(ConfigError, match=f"{f.name}="):
                config_type(**{f.name: wrong})
    assert checked > 0


def test_messages_say_what_a_valid_value_is() -> None:
    assert param_spec(dataclasses.fields(LossCriteria)[3]).allowed() == "in (0, 180] degrees"
    with pytest.raises(ConfigError, match=r"top_k=0 must be an integer in \[1, 10000\]"):
        EstimatorConfig(top_k=0)
    with pytest.raises(ConfigError, match="max_render_faces=50 must be 0 or an integer in"):
        EstimatorConfig(max_render_faces=50)
    assert EstimatorConfig(max_render_faces=0).max_render_faces == 0
    with pytest.raises(ConfigError, match="renderer='opengl' must be one of auto, torch, embree, nvdiffrast"):
        EstimatorConfig(renderer="opengl")
    with pytest.raises(ConfigError, match=r"min_score=nan must be in \[0, 1\]"):
        LossCriteria(min_score=math.nan)
    with pytest.raises(ConfigError, match="max_failed_frames=True must be an integer"):
        LossCriteria(max_failed_frames=True)
    with pytest.raises(ConfigError, match="ransac_confidence=1.0 must be in \\(0, 1\\)"):
        Open3DPeerConfig(ransac_confidence=1.0)


def test_every_bad_field_is_named_and_rules_between_fields_come_after() -> None:
    with pytest.raises(ConfigError) as info:
        EstimatorConfig(top_k=0, crop_ratio=9.0, max_depth=0.05)
    assert "top_k=0" in str(info.value) and "crop_ratio=9.0" in str(info.value)
    assert "max_depth" not in str(info.value)  # valid alone; the rule against min_depth waits for valid fields
    with pytest.raises(ConfigError, match="max_depth=0.05 must be larger than min_depth"):
        EstimatorConfig(max_depth=0.05)


def test_param_needs_a_description() -> None:
    with pytest.raises(ValueError, match="description"):
        param(1)


def test_validate_is_the_whole_mechanism() -> None:
    @dataclasses.dataclass(frozen=True)
    class Knobs:
        steps: int = param(3, "Steps.", range=(1, 5))
        name: str = param("a", "Name.", check=lambda v: None if v.isalpha() else "must be letters only")

        def __post_init__(self) -> None:
            validate(self)

    assert Knobs(steps=5).steps == 5
    with pytest.raises(ConfigError, match=r"Knobs: steps=6 must be an integer in \[1, 5\]; name='a1' must be letters"):
        Knobs(steps=6, name="a1")


def test_a_tuple_of_numbers_is_not_taken_for_a_list_of_strings() -> None:
    @dataclasses.dataclass
    class Ranges:
        distance_m: tuple[float, float] = param((0.4, 1.0), "a range, metres")
        axes: tuple[str, ...] = param(("z_180",), "names")

        def __post_init__(self) -> None:
            validate(self)

    fields = {f.name: f for f in dataclasses.fields(Ranges)}
    assert param_spec(fields["distance_m"]).kind is None
    Ranges()  # a numeric tuple default is valid
    with pytest.raises(ConfigError, match="axes.*list of strings"):
        Ranges(axes=(1.0,))  # type: ignore[arg-type]
