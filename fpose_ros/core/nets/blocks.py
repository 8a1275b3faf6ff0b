"""Building blocks shared by :class:`RefineNet` and :class:`ScoreNet`, named to match FoundationPose's keys.

Every convolution has a bias (the checkpoints carry one even in front of BatchNorm), padding ``(k - 1) // 2``.
Channel counts are the released ones times a width multiplier (1.0 = released; see :func:`scaled_channels`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

#: Feature channels of the token grid both networks attend over (released width).
EMBED_DIM = 512
#: Tokens of a 160 x 160 input after the encoders' three stride-2 convolutions (20 x 20).
NUM_TOKENS = 400
#: Attention heads of every attention layer in both networks.
NUM_HEADS = 4
#: Total stride of the encoders: a crop of side S gives (S / 8)^2 tokens.
TOKEN_STRIDE = 8


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 8 (at least 8).

    So attention heads and the sinusoidal table split evenly; ``width == 1`` gives the released counts exactly.
    """
    return max(8, 8 * round(channels * width / 8))


def num_tokens(input_size: int) -> int:
    """Tokens of a square ``input_size`` crop (400 for 160 px); input_size a multiple of 8."""
    return (input_size // TOKEN_STRIDE) ** 2


class ConvBNReLU(nn.Module):
    """Conv2d (with bias) -> BatchNorm2d -> ReLU, stored as ``net.0`` / ``net.1`` / ``net.2``.

    Maps (N, c_in, H, W) -> (N, c_out, ceil(H / stride), ceil(W / stride)) for odd kernels.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=(kernel_size - 1) // 2, bias=True),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W): convolution, batch norm, ReLU."""
        return self.net(x)


class ResnetBasicBlock(nn.Module):
    """ResNet basic block: ``relu(x + bn2(conv2(relu(bn1(conv1(x))))))``, 3 x 3, stride 1, no downsample.

    Maps (N, C, H, W) -> (N, C, H, W); keys ``conv1``, ``bn1``, ``conv2``, ``bn2``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W): two convolutions plus the identity."""
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)


class PositionalEmbedding(nn.Module):
    """Adds a fixed sinusoidal table ``pe`` (1, max_len, d_model) to (N, L, d_model) tokens, L <= max_len.

    Column ``2i`` holds ``sin(pos * f_i)``, column ``2i + 1`` holds ``cos(pos * f_i)``, with
    ``f_i = exp(-ln(10000) * 2i / d_model)``. The table is a persistent buffer because the checkpoints
    store it (``pos_embed.pe``); strict loading needs the key.
    """

    pe: torch.Tensor  # the buffer registered below (nn.Module's attribute typing cannot know it)

    def __init__(self, d_model: int = EMBED_DIM, max_len: int = NUM_TOKENS) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, D) tokens plus the first L rows of the sinusoidal table."""
        return x + self.pe[:, : x.shape[1]]


def sinusoidal_table(length: int, d_model: int) -> torch.Tensor:
    """(1, length, d_model) float32 sinusoidal position table (see :class:`PositionalEmbedding`); d_model even."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table[None]


def image_encoder(c_in: int, width: float = 1.0) -> nn.Sequential:
    """The per-image encoder (``encodeA`` / ``encoderA``): (N, c_in, H, W) -> (N, C, H / 4, W / 4).

    C = 128 at width 1. Applied with the same weights to the rendering A and the observation B.
    """
    c1, c2 = scaled_channels(64, width), scaled_channels(128, width)
    return nn.Sequential(
        ConvBNReLU(c_in, c1, kernel_size=7, stride=2),
        ConvBNReLU(c1, c2, kernel_size=3, stride=2),
        ResnetBasicBlock(c2),
        ResnetBasicBlock(c2),
    )


def pair_encoder(width: float = 1.0) -> nn.Sequential:
    """The joint encoder (``encodeAB`` / ``encoderAB``): (N, 2C, h, w) -> (N, E, h / 2, w / 2).

    2C = 256 and E = 512 at width 1.
    """
    # Its input is the two image encodings side by side.
    c, e = 2 * scaled_channels(128, width), scaled_channels(EMBED_DIM, width)
    return nn.Sequential(
        ResnetBasicBlock(c),
        ResnetBasicBlock(c),
        ConvBNReLU(c, e, kernel_size=3, stride=2),
        ResnetBasicBlock(e),
        ResnetBasicBlock(e),
    )


class PairStem(NamedTuple):
    """The encoder stem both networks share; each stores the modules under its own checkpoint's names."""

    #: Per-image encoder (:func:`image_encoder`), ``encodeA`` / ``encoderA``.
    image_encoder: nn.Sequential
    #: Joint encoder (:func:`pair_encoder`), ``encodeAB`` / ``encoderAB``.
    pair_encoder: nn.Sequential
    #: Position table for the (S / 8)^2 tokens, ``pos_embed``.
    pos_embed: PositionalEmbedding
    #: Token feature size E (512 at width 1).
    embed_dim: int


def pair_stem(c_in: int, width: float, input_size: int) -> PairStem:
    """A freshly initialised encoder stem (both networks build theirs here).

    Args:
        c_in: input channels.
        width: channel multiplier (1.0 = released).
        input_size: crop side S in pixels, a multiple of 8 (the position table holds (S / 8)^2 rows).

    Apply it as ``pos_embed(encode_pair(image_encoder, pair_encoder, A, B))``: (N, (S / 8)^2, E) tokens.
    """
    embed_dim = scaled_channels(EMBED_DIM, width)
    return PairStem(image_encoder(c_in, width), pair_encoder(width),
                    PositionalEmbedding(embed_dim, num_tokens(input_size)), embed_dim)


def encode_pair(encoder: nn.Module, pair_encoder: nn.Module, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Encode a rendering/observation pair into row-major tokens.

    Args:
        encoder: the shared per-image encoder.
        pair_encoder: the joint encoder.
        A, B: (N, c_in, H, W) network inputs (rendering, observed crop).

    Returns:
        (N, (H / 8) * (W / 8), E) tokens, flattened row by row (400 x 512 for 160 x 160 inputs at width 1).
    """
    # One pass over A and B stacked. In eval mode this equals two passes; in training mode BatchNorm then
    # normalises both kinds with the same batch statistics, as their shared running statistics do at
    # inference. Separate passes normalise renderings and observations each by their own mean, which the
    # network learns to rely on: measured at inference, a -0.065 radius (about 5 mm) bias along the
    # optical axis that no further refinement step removed.
    features = encoder(torch.cat([A, B]))
    ab = pair_encoder(torch.cat(features.chunk(2), dim=1))
    return ab.flatten(2).transpose(1, 2)
