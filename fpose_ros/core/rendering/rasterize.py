"""Batched triangle rasterisation in pure torch: a z-buffer by scatter-min, exact depth at pixel centres.

Every (triangle, pixel) pair inside the triangle's clamped bounding box is a *candidate*; a candidate
is kept when the pixel centre lies inside the triangle, and the nearest kept candidate of each pixel
wins (``scatter_reduce(amin)`` over depth). Depth is evaluated exactly at the pixel centre: under a
pinhole camera 1/z is an affine function of the pixel coordinates over a planar triangle, so the
z-buffer holds the true plane depth, not an approximation.

Triangles are grouped by bounding-box size (1, 2, 4, ... 32 pixels a side) and each group is
enumerated as a dense (triangles, s * s) grid by broadcasting, which is several times faster on a
CPU than gathering per candidate; larger triangles are enumerated exactly by ``repeat_interleave``.
Cost: O(B * F) to set up, plus O(sum of padded bounding-box areas) per batch; memory is bounded by
processing at most ``max_candidates`` pairs at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Triangles with a vertex nearer than this (metres) are not drawn: they cross the camera plane.
NEAR_PLANE_M = 1e-3
#: Barycentric tolerance so that pixel centres exactly on a shared edge are not lost to rounding.
_EDGE_EPS = 1e-6
#: Bounding-box sides (pixels) of the dense enumeration groups.
_GRID_SIDES = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Fragments:
    """What the rasteriser found at every pixel.

    Attributes:
        face_index: (B, H, W) int64 index of the visible triangle, -1 for background.
        depth: (B, H, W) float32 camera-frame z of the visible surface at the pixel centre, metres; 0 = background.
        bary: (B, H, W, 3) float32 perspective-correct barycentric weights of the visible triangle's
            corners at the pixel centre (they interpolate any vertex attribute); 0 for background.
    """

    face_index: torch.Tensor
    depth: torch.Tensor
    bary: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """(B, H, W) bool, True where a triangle is drawn."""
        return self.face_index >= 0


def project_vertices(vertices_cam: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates of camera-frame points.

    Args:
        vertices_cam: (B, V, 3) camera-frame points, metres (z > 0 in front).
        K: (B, 3, 3) pinhole matrices, pixel centres at integer coordinates.

    Returns:
        (B, V, 2) pixel coordinates (u, v); meaningless where z <= 0.
    """
    p = vertices_cam @ K.transpose(1, 2)
    return p[..., :2] / p[..., 2:3].clamp_min(NEAR_PLANE_M)


def triangle_planes(corners: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Per-triangle affine functions of the pixel position: two barycentrics and inverse depth.

    For a triangle with screen corners a, b, c, the barycentric weights of corners a and b and the
    inverse depth 1/z are affine in the offset r = (u, v) - a: ``f(r) = f_u * r_u + f_v * r_v + f(a)``.
    Expressing them about the corner, not the image origin, keeps float32 evaluation exact to ~1e-7.

    Args:
        corners: (T, 3, 2) screen corners a, b, c of non-degenerate triangles, pixels.
        z: (T, 3) camera-frame depth of the corners, metres, positive.

    Returns:
        (T, 3, 3) rows (w_a, w_b, 1/z), columns (f_u, f_v, f(a)).
    """
    e1 = corners[:, 1] - corners[:, 0]
    e2 = corners[:, 2] - corners[:, 0]
    inv_area = 1.0 / (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    zero = torch.zeros_like(inv_area)
    w_b = torch.stack([e2[:, 1] * inv_area, -e2[:, 0] * inv_area, zero], dim=-1)
    w_c = torch.stack([-e1[:, 1] * inv_area, e1[:, 0] * inv_area, zero], dim=-1)
    w_a = -w_b - w_c
    w_a[:, 2] = 1.0
    inv_z = 1.0 / z
    plane = w_a * inv_z[:, 0:1] + w_b * inv_z[:, 1:2] + w_c * inv_z[:, 2:3]
    return torch.stack([w_a, w_b, plane], dim=1)


def rasterize(
    vertices_cam: torch.Tensor,
    faces: torch.Tensor,
    K: torch.Tensor,
    height: int,
    width: int,
    cull_backfaces: bool = False,
    max_candidates: int = 4_000_000,
) -> Fragments:
    """Rasterise a batch of posed copies of one mesh.

    Args:
        vertices_cam: (B, V, 3) float32 vertices in each camera frame, metres.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside.
        K: (B, 3, 3) float32 pinhole matrices (pixel centres at integer coordinates).
        height, width: image size, pixels.
        cull_backfaces: skip triangles seen from behind; right (and ~2x faster) only for closed meshes
            with consistent outward winding.
        max_candidates: upper bound of (triangle, pixel) pairs held in memory at once.

    Returns:
        :class:`Fragments` of shape (B, H, W).
    """
    B = vertices_cam.shape[0]
    device = vertices_cam.device
    uv = project_vertices(vertices_cam, K)
    corners = uv[:, faces]  # (B, F, 3, 2)
    z = vertices_cam[..., 2][:, faces]  # (B, F, 3)
    e1 = corners[:, :, 1] - corners[:, :, 0]
    e2 = corners[:, :, 2] - corners[:, :, 0]
    area = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    lo = torch.ceil(corners.amin(dim=2) - _EDGE_EPS)
    hi = torch.floor(corners.amax(dim=2) + _EDGE_EPS)
    lo_x, lo_y = lo[..., 0].clamp(0, width), lo[..., 1].clamp(0, height)
    hi_x, hi_y = hi[..., 0].clamp(-1, width - 1), hi[..., 1].clamp(-1, height - 1)
    keep = (z.amin(dim=2) > NEAR_PLANE_M) & (hi_x >= lo_x) & (hi_y >= lo_y)
    # Image y points down, so a triangle counter-clockwise from outside has negative area when it faces us.
    keep &= (area < -1e-9) if cull_backfaces else (area.abs() > 1e-9)

    item, face = torch.nonzero(keep, as_tuple=True)
    tri_z = z[item, face]
    coeffs = triangle_planes(corners[item, face], tri_z)
    inv_z_corners = 1.0 / tri_z  # (T, 3)
    origin = corners[item, face, 0]
    x0, y0 = lo_x[item, face].long(), lo_y[item, face].long()
    box_w = (hi_x[item, face] - lo_x[item, face]).long() + 1
    box_h = (hi_y[item, face] - lo_y[item, face]).long() + 1
    side = torch.maximum(box_w, box_h)
    boxes = _Boxes(coeffs, origin, x0, y0, box_w, box_h, item * (height * width), width)

    groups = []
    smaller = 0
    for s in _GRID_SIDES:
        sel = torch.nonzero((side > smaller) & (side <= s), as_tuple=True)[0]
        smaller = s
        groups += [_dense_candidates(part, s, boxes) for part in sel.split(max(1, max_candidates // (s * s)))]
    large = torch.nonzero(side > smaller, as_tuple=True)[0]
    groups += [_exact_candidates(part, boxes) for part in _split_by_count(large, box_w[large] * box_h[large],
                                                                          max_candidates)]
    key, inv_depth, tri, w_a, w_b = (torch.cat(parts) for parts in zip(*groups, strict=True)) if groups else (
        torch.zeros(0, dtype=torch.long, device=device), torch.zeros(0, device=device),
        torch.zeros(0, dtype=torch.long, device=device), torch.zeros(0, device=device), torch.zeros(0, device=device))

    n_pixels = B * height * width
    cand_depth = 1.0 / inv_depth
    zbuf = torch.full((n_pixels,), float("inf"), device=device).scatter_reduce_(0, key, cand_depth, reduce="amin")
    # One winning candidate per pixel: ties (shared edges) resolve to any one of them, consistently for
    # the face and its weights because both are read through the same candidate index.
    winner = torch.nonzero(cand_depth <= zbuf[key], as_tuple=True)[0]
    won = torch.full((n_pixels,), -1, dtype=torch.long, device=device)
    won[key[winner]] = winner
    drawn = torch.nonzero(won >= 0, as_tuple=True)[0]
    cand = won[drawn]
    face_index = torch.full((n_pixels,), -1, dtype=torch.long, device=device)
    face_index[drawn] = face[tri[cand]]
    depth = torch.zeros(n_pixels, device=device)
    depth[drawn] = cand_depth[cand]
    # Screen-space weights -> perspective-correct ones: lambda_i = w_i * z / z_i.
    izc = inv_z_corners[tri[cand]]
    lam_a = w_a[cand] * izc[:, 0] * depth[drawn]
    lam_b = w_b[cand] * izc[:, 1] * depth[drawn]
    bary = torch.zeros(n_pixels, 3, device=device)
    bary[drawn] = torch.stack([lam_a, lam_b, 1.0 - lam_a - lam_b], dim=-1).clamp(0.0, 1.0)
    return Fragments(face_index=face_index.view(B, height, width), depth=depth.view(B, height, width),
                     bary=bary.view(B, height, width, 3))


@dataclass(frozen=True)
class _Boxes:
    """Per-triangle data the candidate enumerators need; T triangles that survived culling."""

    coeffs: torch.Tensor  # (T, 3, 3) from triangle_planes
    origin: torch.Tensor  # (T, 2) corner a, pixels
    x0: torch.Tensor  # (T,) bounding box left column
    y0: torch.Tensor  # (T,) bounding box top row
    box_w: torch.Tensor  # (T,)
    box_h: torch.Tensor  # (T,)
    pixel_base: torch.Tensor  # (T,) flat index of the triangle's image's first pixel
    width: int


Candidates = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _dense_candidates(tri: torch.Tensor, s: int, boxes: _Boxes) -> Candidates:
    """Candidates of triangles ``tri`` whose bounding boxes fit in s x s, enumerated as a (T, s*s) grid.

    Returns:
        (flat pixel key, 1/z, triangle index, w_a, w_b) of the candidates inside their triangle.
    """
    grid = torch.arange(s * s, device=tri.device)
    gx, gy = grid % s, grid // s
    c, o = boxes.coeffs[tri], boxes.origin[tri]  # (T, 3, 3), (T, 2)
    x = boxes.x0[tri, None] + gx  # (T, s*s)
    y = boxes.y0[tri, None] + gy
    du = x.to(c.dtype) - o[:, 0:1]
    dv = y.to(c.dtype) - o[:, 1:2]
    w_a = c[:, 0, 0:1] * du + c[:, 0, 1:2] * dv + c[:, 0, 2:3]
    w_b = c[:, 1, 0:1] * du + c[:, 1, 1:2] * dv + c[:, 1, 2:3]
    inv_z = c[:, 2, 0:1] * du + c[:, 2, 1:2] * dv + c[:, 2, 2:3]
    inside = (w_a >= -_EDGE_EPS) & (w_b >= -_EDGE_EPS) & (w_a + w_b <= 1 + _EDGE_EPS) & (inv_z > 0)
    if s > 1:
        inside &= (gx < boxes.box_w[tri, None]) & (gy < boxes.box_h[tri, None])
    # One nonzero, then flat gathers: boolean-mask indexing would search the mask once per tensor.
    hit = torch.nonzero(inside.view(-1), as_tuple=True)[0]
    row, col = hit // (s * s), hit % (s * s)
    rows = tri[row]
    key = boxes.pixel_base[rows] + (boxes.y0[rows] + gy[col]) * boxes.width + boxes.x0[rows] + gx[col]
    return key, inv_z.view(-1)[hit], rows, w_a.view(-1)[hit], w_b.view(-1)[hit]


def _exact_candidates(tri: torch.Tensor, boxes: _Boxes) -> Candidates:
    """Candidates of large triangles ``tri``, one per pixel of each exact bounding box."""
    counts = boxes.box_w[tri] * boxes.box_h[tri]
    rows = torch.repeat_interleave(tri, counts)
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(int(counts.sum()), device=tri.device) - torch.repeat_interleave(first, counts)
    w = boxes.box_w[rows]
    x = boxes.x0[rows] + local % w
    y = boxes.y0[rows] + local // w
    c, o = boxes.coeffs[rows], boxes.origin[rows]
    du = x.to(c.dtype) - o[:, 0]
    dv = y.to(c.dtype) - o[:, 1]
    vals = c[..., 0] * du[:, None] + c[..., 1] * dv[:, None] + c[..., 2]  # (N, 3): w_a, w_b, 1/z
    inside = (vals[:, 0] >= -_EDGE_EPS) & (vals[:, 1] >= -_EDGE_EPS) & (vals[:, 0] + vals[:, 1] <= 1 + _EDGE_EPS)
    inside &= vals[:, 2] > 0
    hit = torch.nonzero(inside, as_tuple=True)[0]
    key = boxes.pixel_base[rows[hit]] + y[hit] * boxes.width + x[hit]
    vals = vals[hit]
    return key, vals[:, 2], rows[hit], vals[:, 0], vals[:, 1]


def _split_by_count(tri: torch.Tensor, counts: torch.Tensor, limit: int) -> list[torch.Tensor]:
    """Split ``tri`` into consecutive runs whose ``counts`` sum to at most ``limit`` (a single item may exceed it)."""
    if len(tri) == 0:
        return []
    parts, start, total = [], 0, 0
    for i, n in enumerate(counts.tolist()):
        if total and total + n > limit:
            parts.append(tri[start:i])
            start, total = i, 0
        total += n
    parts.append(tri[start:])
    return parts
