"""FoundationPose's hypothesis scorer network, weight-compatible with the released checkpoint ``2024-01-11-20-02-45``.

Each (rendering, observed crop) pair of a hypothesis becomes one 512-vector (:meth:`ScoreNet.embed`); the
vectors of all L hypotheses of one frame then attend to each other (:meth:`ScoreNet.rank`), so a logit is
only meaningful relative to the others of the same call. About 15.8 M parameters at the released size.
"""

from __future__ import annotations

import torch
from torch import nn

from fpose_ros.core.nets.blocks import NUM_HEADS, encode_pair, pair_stem
from fpose_ros.core.nets.config import INPUT_SIZE


class ScoreNet(nn.Module):
    """Multi-hypothesis scorer (state-dict keys as FoundationPose's ``ScoreNetMultiPair``).

    ``ScoreNet()`` is the released configuration (6 input channels, 160 x 160 crops). Call ``.eval()``
    before inference.

    Args:
        c_in: input channels.
        width: channel multiplier (1.0 = released; feature size E = 512 * width, rounded to a multiple of 8).
        input_size: crop side S in pixels, a multiple of 8.
    """

    def __init__(self, c_in: int = 6, width: float = 1.0, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        self.input_size = input_size
        stem = pair_stem(c_in, width, input_size)
        self.encoderA, self.encoderAB, self.pos_embed = stem.image_encoder, stem.pair_encoder, stem.pos_embed
        embed = stem.embed_dim
        self.att = nn.MultiheadAttention(embed, NUM_HEADS, bias=True, batch_first=True)
        self.att_cross = nn.MultiheadAttention(embed, NUM_HEADS, bias=True, batch_first=True)
        self.linear = nn.Linear(embed, 1)

    def embed(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """One feature vector per pair, independent of the other pairs (safe to compute in chunks).

        Args:
            A: (N, c_in, S, S) renderings at the hypotheses (NCHW).
            B: (N, c_in, S, S) observed crops with the same windows.

        Returns:
            (N, E): self-attention over the pair's (S / 8)^2 tokens (no residual, no norm), mean-pooled.
        """
        tokens = self.pos_embed(encode_pair(self.encoderA, self.encoderAB, A, B))
        attended, _ = self.att(tokens, tokens, tokens, need_weights=False)
        return attended.mean(dim=1)

    def rank(self, features: torch.Tensor) -> torch.Tensor:
        """(L, E) features of all hypotheses of one frame -> (L,) logits; higher = better.

        The hypotheses form one sequence (1, L, E) for attention across them, without position encoding,
        so the result does not depend on their order.
        """
        attended, _ = self.att_cross(features[None], features[None], features[None], need_weights=False)
        return self.linear(attended)[0, :, 0]

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """(L, c_in, S, S) renderings and observed crops of the L hypotheses of one frame -> (L,) logits."""
        return self.rank(self.embed(A, B))
