"""FoundationPose's pose refiner network, weight-compatible with the released checkpoint ``2023-10-28-18-33-37``.

Given a rendering A at a pose hypothesis and the observed crop B (both pose-conditioned 160 x 160 crops, six
channels: RGB then normalised xyz, see :func:`~fpose_ros.core.nets.pose_update.make_network_input`), it
predicts a translation and an axis-angle rotation update in the camera frame; decode them with
:func:`~fpose_ros.core.nets.pose_update.decode_refiner_output`. About 16.8 M parameters, ~22 GFLOP per pair.
"""

from __future__ import annotations

import torch
from torch import nn

from fpose_ros.core.nets.blocks import (
    EMBED_DIM,
    NUM_HEADS,
    NUM_TOKENS,
    PositionalEmbedding,
    encode_pair,
    image_encoder,
    pair_encoder,
)


def _head(out_dim: int) -> nn.Sequential:
    """One transformer encoder layer over the tokens, then a per-token linear map to ``out_dim``."""
    return nn.Sequential(
        nn.TransformerEncoderLayer(
            EMBED_DIM, NUM_HEADS, dim_feedforward=EMBED_DIM, batch_first=True, norm_first=False, activation="relu"
        ),
        nn.Linear(EMBED_DIM, out_dim),
    )


class RefineNet(nn.Module):
    """Render-and-compare pose refiner (state-dict keys as FoundationPose's ``RefineNet``).

    ``RefineNet()`` is the released configuration: 6 input channels, 160 x 160 crops, 400 tokens.
    Call ``.eval()`` before inference (BatchNorm uses its running statistics then).
    """

    def __init__(self, c_in: int = 6) -> None:
        super().__init__()
        self.encodeA = image_encoder(c_in)
        self.encodeAB = pair_encoder()
        self.pos_embed = PositionalEmbedding(EMBED_DIM, NUM_TOKENS)
        self.trans_head = _head(3)
        self.rot_head = _head(3)

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict one pose update per pair.

        Args:
            A: (N, c_in, 160, 160) renderings at the hypotheses (NCHW).
            B: (N, c_in, 160, 160) observed crops with the same windows.

        Returns:
            trans (N, 3) translation output in units of the object radius (diameter / 2), camera frame;
            rot (N, 3) raw rotation output (pre-tanh axis-angle). Both averaged over the 400 tokens.
        """
        tokens = self.pos_embed(encode_pair(self.encodeA, self.encodeAB, A, B))
        return self.trans_head(tokens).mean(dim=1), self.rot_head(tokens).mean(dim=1)
