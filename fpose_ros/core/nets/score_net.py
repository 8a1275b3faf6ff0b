"""FoundationPose's hypothesis scorer network, weight-compatible with the released checkpoint ``2024-01-11-20-02-45``.

Each (rendering, observed crop) pair of a hypothesis becomes one 512-vector (:meth:`ScoreNet.embed`); the
vectors of all L hypotheses of one frame then attend to each other (:meth:`ScoreNet.rank`), so a logit is
only meaningful relative to the others of the same call. About 15.8 M parameters.
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


class ScoreNet(nn.Module):
    """Multi-hypothesis scorer (state-dict keys as FoundationPose's ``ScoreNetMultiPair``).

    ``ScoreNet()`` is the released configuration (6 input channels, 160 x 160 crops). Call ``.eval()``
    before inference.
    """

    def __init__(self, c_in: int = 6) -> None:
        super().__init__()
        self.encoderA = image_encoder(c_in)
        self.encoderAB = pair_encoder()
        self.pos_embed = PositionalEmbedding(EMBED_DIM, NUM_TOKENS)
        self.att = nn.MultiheadAttention(EMBED_DIM, NUM_HEADS, bias=True, batch_first=True)
        self.att_cross = nn.MultiheadAttention(EMBED_DIM, NUM_HEADS, bias=True, batch_first=True)
        self.linear = nn.Linear(EMBED_DIM, 1)

    def embed(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """One feature vector per pair, independent of the other pairs (safe to compute in chunks).

        Args:
            A: (N, c_in, 160, 160) renderings at the hypotheses (NCHW).
            B: (N, c_in, 160, 160) observed crops with the same windows.

        Returns:
            (N, 512): self-attention over the pair's 400 tokens (no residual, no norm), mean-pooled.
        """
        tokens = self.pos_embed(encode_pair(self.encoderA, self.encoderAB, A, B))
        attended, _ = self.att(tokens, tokens, tokens, need_weights=False)
        return attended.mean(dim=1)

    def rank(self, features: torch.Tensor) -> torch.Tensor:
        """(L, 512) features of all hypotheses of one frame -> (L,) logits; higher = better.

        The hypotheses form one sequence (1, L, 512) for attention across them, without position encoding,
        so the result does not depend on their order.
        """
        attended, _ = self.att_cross(features[None], features[None], features[None], need_weights=False)
        return self.linear(attended)[0, :, 0]

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """(L, c_in, 160, 160) renderings and observed crops of the L hypotheses of one frame -> (L,) logits."""
        return self.rank(self.embed(A, B))
