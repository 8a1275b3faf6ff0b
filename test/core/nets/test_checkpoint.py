"""Checkpoint directories in the official layout: strict loading and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.nets import RefineNet, RefineNetConfig, ScoreNet, ScoreNetConfig, load_refine_net, load_score_net
from fpose_ros.core.nets.checkpoint import CONFIG_FILE, WEIGHTS_FILE, build_net, save_checkpoint

# Official config.yml files hold many training-only fields besides the ones inference reads.
_REFINE_YML = {"c_in": 6, "use_BN": True, "input_resize": [160, 160], "crop_ratio": 1.2, "normalize_xyz": True,
               "rot_rep": "axis_angle", "trans_rep": "tracknet", "rot_normalizer": 0.3490658503988659,
               "trans_normalizer": [0.02, 0.02, 0.05], "lr": 0.0001, "batch_size": 64}
_SCORE_YML = {"c_in": 6, "crop_ratio": 1.1, "normalize_xyz": True, "use_BN": True, "train_root": "x"}


def _write(directory: Path, state: dict, config: dict, wrapped: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state} if wrapped else state, directory / WEIGHTS_FILE)
    (directory / CONFIG_FILE).write_text(yaml.safe_dump(config))
    return directory


@pytest.fixture(scope="module")
def refine_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    net = RefineNet()
    for p in net.parameters():
        p.data.normal_()
    return net.state_dict()


@pytest.mark.parametrize("wrapped", [False, True])
def test_refiner_round_trip(tmp_path: Path, refine_state: dict, wrapped: bool) -> None:
    net, config = load_refine_net(_write(tmp_path / "ckpt", refine_state, _REFINE_YML, wrapped))
    assert config == RefineNetConfig()
    assert not net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, refine_state[key]), key


@pytest.mark.parametrize("wrapped", [False, True])
def test_scorer_round_trip(tmp_path: Path, wrapped: bool) -> None:
    state = ScoreNet().state_dict()
    state["linear.bias"] = torch.tensor([0.25])
    net, config = load_score_net(_write(tmp_path / "ckpt", state, _SCORE_YML, wrapped))
    assert config.crop_ratio == pytest.approx(1.1)
    assert net.linear.bias.item() == pytest.approx(0.25)


def test_renamed_key_is_named(tmp_path: Path, refine_state: dict) -> None:
    state = dict(refine_state)
    state["rot_head.2.weight"] = state.pop("rot_head.1.weight")
    with pytest.raises(ConfigError, match=r"missing keys: rot_head\.1\.weight.*unexpected keys: rot_head\.2\.weight"):
        load_refine_net(_write(tmp_path / "ckpt", state, _REFINE_YML, True))


def test_misshaped_key_is_named(tmp_path: Path, refine_state: dict) -> None:
    state = dict(refine_state)
    state["encodeA.0.net.0.weight"] = torch.zeros(64, 3, 7, 7)
    with pytest.raises(ConfigError, match=r"mis-shaped keys: encodeA\.0\.net\.0\.weight \(64, 3, 7, 7\)"):
        load_refine_net(_write(tmp_path / "ckpt", state, _REFINE_YML, False))


def test_scorer_weights_refused_by_refiner(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing keys: encodeA"):
        load_refine_net(_write(tmp_path / "ckpt", ScoreNet().state_dict(), _REFINE_YML, True))


def test_bad_directory_and_config(tmp_path: Path, refine_state: dict) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_refine_net(tmp_path / "absent")
    with pytest.raises(ConfigError, match="normalize_xyz must be true"):
        load_refine_net(_write(tmp_path / "a", refine_state, {**_REFINE_YML, "normalize_xyz": False}, True))
    with pytest.raises(ConfigError, match="missing required field"):
        load_refine_net(_write(tmp_path / "b", refine_state, {"c_in": 6}, True))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / WEIGHTS_FILE).write_bytes(b"not a torch file")
    (tmp_path / "c" / CONFIG_FILE).write_text(yaml.safe_dump(_REFINE_YML))
    with pytest.raises(ConfigError, match="not a readable"):
        load_refine_net(tmp_path / "c")


def test_non_finite_weights_refused(tmp_path: Path, refine_state: dict) -> None:
    state = dict(refine_state)
    state["trans_head.1.bias"] = torch.tensor([0.0, float("nan"), 0.0])
    with pytest.raises(ConfigError, match=r"non-finite values in: trans_head\.1\.bias"):
        load_refine_net(_write(tmp_path / "ckpt", state, _REFINE_YML, True))


@pytest.mark.parametrize("kind", ["refiner", "scorer"])
def test_narrow_network_round_trips_width_and_crop_size(tmp_path: Path, kind: str) -> None:
    config_cls, load = (RefineNetConfig, load_refine_net) if kind == "refiner" else (ScoreNetConfig, load_score_net)
    config = config_cls(width=0.25, input_resize=(64, 64))
    torch.manual_seed(2)
    net = build_net(config)
    save_checkpoint(net, config, tmp_path / kind)
    assert yaml.safe_load((tmp_path / kind / CONFIG_FILE).read_text())["width"] == 0.25
    loaded, loaded_config = load(tmp_path / kind)
    assert loaded_config == config and loaded.input_size == 64
    released = build_net(config_cls())
    assert sum(p.numel() for p in loaded.parameters()) < sum(p.numel() for p in released.parameters()) / 10
    A, B = torch.rand(3, 6, 64, 64), torch.rand(3, 6, 64, 64)
    with torch.no_grad():
        expected, got = net.eval()(A, B), loaded(A, B)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_width_or_crop_size_mismatch_is_refused(tmp_path: Path) -> None:
    narrow = RefineNetConfig(width=0.25, input_resize=(64, 64))
    with pytest.raises(ConfigError, match="does not have the size its config describes"):
        save_checkpoint(RefineNet(), narrow, tmp_path / "a")
    save_checkpoint(build_net(narrow), narrow, tmp_path / "b")
    # Weights of a narrow network under a config that claims the released size: the shapes say which keys.
    (tmp_path / "b" / CONFIG_FILE).write_text(yaml.safe_dump(_REFINE_YML))
    with pytest.raises(ConfigError, match=r"mis-shaped keys: encodeA\.0\.net\.0\.weight \(16, 6, 7, 7\)"):
        load_refine_net(tmp_path / "b")


@pytest.mark.parametrize("bad", [{"width": 0}, {"width": 3.0}, {"input_resize": [60, 60]}, {"input_resize": [64, 96]},
                                 {"input_resize": [16, 16]}])
def test_bad_width_or_crop_size_is_refused(tmp_path: Path, refine_state: dict, bad: dict) -> None:
    with pytest.raises(ConfigError, match="width must be|input_resize must be"):
        load_refine_net(_write(tmp_path / "ckpt", refine_state, {**_REFINE_YML, **bad}, True))
