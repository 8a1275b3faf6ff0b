"""Key names, shapes and parameter counts of RefineNet / ScoreNet, written from the reference facts."""

from __future__ import annotations

import pytest
import torch

from fpose_ros.core.nets import RefineNet, ScoreNet
from fpose_ros.core.nets.blocks import encode_pair


def _conv_bn(prefix: str, c_in: int, c_out: int, k: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.net.0.weight": (c_out, c_in, k, k), f"{prefix}.net.0.bias": (c_out,),
            **_bn(f"{prefix}.net.1", c_out)}


def _bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
            f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}


def _block(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.conv1.weight": (c, c, 3, 3), f"{prefix}.conv1.bias": (c,), **_bn(f"{prefix}.bn1", c),
            f"{prefix}.conv2.weight": (c, c, 3, 3), f"{prefix}.conv2.bias": (c,), **_bn(f"{prefix}.bn2", c)}


def _encoders(a: str, ab: str) -> dict[str, tuple[int, ...]]:
    return {**_conv_bn(f"{a}.0", 6, 64, 7), **_conv_bn(f"{a}.1", 64, 128, 3), **_block(f"{a}.2", 128),
            **_block(f"{a}.3", 128), **_block(f"{ab}.0", 256), **_block(f"{ab}.1", 256),
            **_conv_bn(f"{ab}.2", 256, 512, 3), **_block(f"{ab}.3", 512), **_block(f"{ab}.4", 512),
            "pos_embed.pe": (1, 400, 512)}


def _mha(prefix: str) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.in_proj_weight": (1536, 512), f"{prefix}.in_proj_bias": (1536,),
            f"{prefix}.out_proj.weight": (512, 512), f"{prefix}.out_proj.bias": (512,)}


def _head(prefix: str) -> dict[str, tuple[int, ...]]:
    return {**_mha(f"{prefix}.0.self_attn"), f"{prefix}.0.linear1.weight": (512, 512),
            f"{prefix}.0.linear1.bias": (512,), f"{prefix}.0.linear2.weight": (512, 512),
            f"{prefix}.0.linear2.bias": (512,), f"{prefix}.0.norm1.weight": (512,), f"{prefix}.0.norm1.bias": (512,),
            f"{prefix}.0.norm2.weight": (512,), f"{prefix}.0.norm2.bias": (512,),
            f"{prefix}.1.weight": (3, 512), f"{prefix}.1.bias": (3,)}


REFINE_KEYS = {**_encoders("encodeA", "encodeAB"), **_head("trans_head"), **_head("rot_head")}
SCORE_KEYS = {**_encoders("encoderA", "encoderAB"), **_mha("att"), **_mha("att_cross"),
              "linear.weight": (1, 512), "linear.bias": (1,)}


@pytest.mark.parametrize(("net", "table"), [(RefineNet, REFINE_KEYS), (ScoreNet, SCORE_KEYS)])
def test_state_dict_matches_reference_table(net: type, table: dict[str, tuple[int, ...]]) -> None:
    shapes = {k: tuple(v.shape) for k, v in net().state_dict().items()}
    assert shapes == table


@pytest.mark.parametrize(("net", "millions"), [(RefineNet, 16.8), (ScoreNet, 15.8)])
def test_parameter_counts(net: type, millions: float) -> None:
    count = sum(p.numel() for p in net().parameters())
    assert abs(count / 1e6 - millions) < 0.05


def test_position_table_is_sinusoidal() -> None:
    pe = RefineNet().pos_embed.pe[0].double()
    pos, i = 7, 10  # column pair (2i, 2i + 1)
    freq = torch.exp(torch.tensor(-torch.log(torch.tensor(10000.0)).item() * 2 * i / 512, dtype=torch.float64))
    assert pe[pos, 2 * i].item() == pytest.approx(torch.sin(pos * freq).item(), abs=1e-6)
    assert pe[pos, 2 * i + 1].item() == pytest.approx(torch.cos(pos * freq).item(), abs=1e-6)


def test_forward_shapes_and_score_order_equivariance() -> None:
    torch.manual_seed(0)
    A, B = torch.rand(3, 6, 160, 160), torch.rand(3, 6, 160, 160)
    with torch.no_grad():
        trans, rot = RefineNet().eval()(A, B)
        scorer = ScoreNet().eval()
        logits = scorer(A, B)
        permuted = scorer(A[[2, 0, 1]], B[[2, 0, 1]])
    assert trans.shape == rot.shape == (3, 3)
    assert logits.shape == (3,)
    # Hypotheses attend to each other without position encoding: permuting them permutes the logits.
    torch.testing.assert_close(permuted, logits[[2, 0, 1]], atol=1e-5, rtol=1e-5)
    # ... and they do attend to each other: dropping one changes the others' logits.
    with torch.no_grad():
        assert not torch.allclose(scorer(A[:2], B[:2]), logits[:2], atol=1e-6)


def test_training_mode_normalises_like_inference() -> None:
    """Training-mode BatchNorm must see the rendering and the observation together.

    As the shared running statistics do at inference: with momentum 1 the running statistics become those of the
    last batch, so inference on that batch must then give the tokens training mode gave.
    """
    torch.manual_seed(0)
    net = RefineNet(width=0.25, input_size=32)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    # Renderings and observations with different statistics, as real crops have.
    A, B = torch.rand(4, 6, 32, 32), 2.0 + 3.0 * torch.rand(4, 6, 32, 32)
    with torch.no_grad():
        trained = encode_pair(net.encodeA.train(), net.encodeAB.train(), A, B)
        inferred = encode_pair(net.encodeA.eval(), net.encodeAB.eval(), A, B)
    # Running variances are unbiased estimates (n / (n - 1), n >= 128 values per channel), a few per cent
    # over all layers; normalising A and B separately in training instead gives over 200 %.
    assert (inferred - trained).norm() / trained.norm() < 0.1


def test_width_scales_every_channel_count() -> None:
    small = RefineNet(width=0.25, input_size=64).state_dict()
    assert small["encodeA.0.net.0.weight"].shape == (16, 6, 7, 7)
    assert small["encodeAB.0.conv1.weight"].shape == (64, 64, 3, 3)
    assert small["encodeAB.2.net.0.weight"].shape == (128, 64, 3, 3)
    assert small["pos_embed.pe"].shape == (1, 64, 128)
    assert set(small) == set(RefineNet().state_dict())
