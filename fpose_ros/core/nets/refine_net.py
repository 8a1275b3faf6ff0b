"""FoundationPose's pose refiner network, weight-compatible with the released checkpoint ``2023-10-28-18-33-37``.

Given a rendering A at a pose hypothesis and the observed crop B (both pose-conditioned S x S crops, six
channels: RGB then normalised xyz, see :func:`~fpose_ros.core.nets.pose_update.make_network_input`), it
predicts a translation and an axis-angle rotation update in the camera frame; decode them with
:func:`~fpose_ros.core.nets.pose_update.decode_refiner_output`. Released size (width 1, 160 px): about
16.8 M parameters, ~22 GFLOP per pair; the ``--small`` training size (width 0.25, 64 px) has ~1.1 M and
~0.2 GFLOP.
"""

from __future__ import annotations

import torch
from torch import nn

from fpose_ros.core.nets.blocks import NUM_HEADS, encode_pair, pair_stem
from fpose_ros.core.nets.config import INPUT_SIZE


def _head(embed_dim: int, out_dim: int) -> nn.Sequential:
    """One transformer encoder layer over the tokens, then a per-token linear map to ``out_dim``."""
    return nn.Sequential(
        nn.TransformerEncoderLayer(
            embed_dim, NUM_HEADS, dim_feedforward=embed_dim, batch_first=True, norm_first=False, activation="relu"
        ),
        nn.Linear(embed_dim, out_dim),
    )


class RefineNet(nn.Module):
    """Render-and-compare pose refiner (state-dict keys as FoundationPose's ``RefineNet``).

    ``RefineNet()`` is the released configuration: 6 input channels, 160 x 160 crops, 400 tokens.
    Call ``.eval()`` before inference (BatchNorm uses its running statistics then).

    Args:
        c_in: input channels.
        width: channel multiplier (1.0 = released; see :func:`~fpose_ros.core.nets.blocks.scaled_channels`).
        input_size: crop side S in pixels, a multiple of 8 (sets the position table: (S / 8)^2 tokens).
    """

    def __init__(self, c_in: int = 6, width: float = 1.0, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        self.input_size = input_size
        stem = pair_stem(c_in, width, input_size)
        self.encodeA, self.encodeAB, self.pos_embed = stem.image_encoder, stem.pair_encoder, stem.pos_embed
        self.trans_head = _head(stem.embed_dim, 3)
        self.rot_head = _head(stem.embed_dim, 3)

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict one pose update per pair.

        Args:
            A: (N, c_in, S, S) renderings at the hypotheses (NCHW).
            B: (N, c_in, S, S) observed crops with the same windows.

        Returns:
            trans (N, 3) translation output in units of the object radius (diameter / 2), camera frame;
            rot (N, 3) raw rotation output (pre-tanh axis-angle). Both averaged over the tokens.
        """
        tokens = self.pos_embed(encode_pair(self.encodeA, self.encodeAB, A, B))
        return self.trans_head(tokens).mean(dim=1), self.rot_head(tokens).mean(dim=1)
