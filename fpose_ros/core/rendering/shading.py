"""Shading: the colour of a drawn pixel from its surface colour and geometry, separate from rasterisation."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class HeadlightShading:
    """Lambertian shading under a light at the camera centre, plus ambient light.

    ``rgb = albedo * (ambient + diffuse * |cos(angle between normal and viewing ray)|)``; a surface
    facing the camera keeps its albedo (with the defaults), a grazing one darkens to ``ambient``.
    The absolute cosine makes the result independent of the mesh's triangle winding.
    """

    ambient: float = 0.6
    diffuse: float = 0.4

    def __call__(self, albedo: torch.Tensor, normals: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Shade.

        Args:
            albedo: (P, 3) surface colour in [0, 1].
            normals: (P, 3) unit camera-frame normals.
            points: (P, 3) camera-frame surface points, metres (the viewing rays).

        Returns:
            (P, 3) shaded colour in [0, 1].
        """
        rays = points / points.norm(dim=-1, keepdim=True).clamp_min(1e-9)
        cos = (normals * rays).sum(-1, keepdim=True).abs()
        return (albedo * (self.ambient + self.diffuse * cos)).clamp(0.0, 1.0)
