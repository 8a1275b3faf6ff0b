"""Benchmark the CPU renderers on the cases the pose engine needs, and their depth against Embree.

``python scripts/bench_renderers.py [--threads 2] [--faces 3000] [--repeats 7] [--json out.json]``

Renderers: TorchRasterizer (with and without back-face culling, full ``render`` contract), the
rasteriser alone (``rasterize``: depth, face and barycentrics only), EmbreeRaycaster (embreex, one
batched query split over threads, full contract) and Open3D's ``RaycastingScene`` (depth only,
one ``cast_rays`` call per batch).
Cases: 252 crops at 32 and 64 px, one crop at 64 and 160 px (pose-conditioned crops at crop ratio
1.2 around poses at 0.5 m, see :mod:`fpose_ros.core.pose_conditioned_crop`) and one 640x480 frame.

Each renderer runs in its own subprocess so that its peak RSS is its own; the table shows the
median and p90 wall time per call, crops (images) per second, the process's peak RSS, and the depth
difference to Embree on pixels both draw (median and max, micrometres) plus the fraction of pixels
where the two masks disagree (edge pixels only, when correct).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fpose_ros.core.mesh_simplification import simplify_for_rendering  # noqa: E402
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics  # noqa: E402
from fpose_ros.core.rendering.base import MeshTensors  # noqa: E402
from fpose_ros.core.synthetic.assets import procedural_object  # noqa: E402
from fpose_ros.core.transforms import make_transform, so3_exp  # noqa: E402

K_FRAME = torch.tensor([[600.0, 0.0, 319.5], [0.0, 600.0, 239.5], [0.0, 0.0, 1.0]])
RENDERERS = ("torch", "torch-cull", "torch-rasterize-only", "embree", "open3d")
#: Items per case whose depth is compared with Embree (keeps the reference renders short).
_AGREEMENT_ITEMS = 8


@dataclass(frozen=True)
class Case:
    """One benchmark case: ``batch`` images of ``height`` x ``width`` pixels."""

    name: str
    batch: int
    height: int
    width: int


CASES = (Case("252 crops 32x32", 252, 32, 32), Case("252 crops 64x64", 252, 64, 64),
         Case("1 crop 64x64", 1, 64, 64), Case("1 crop 160x160", 1, 160, 160),
         Case("1 frame 640x480", 1, 480, 640))


@dataclass(frozen=True)
class Row:
    """Result of one (renderer, case)."""

    renderer: str
    case: str
    median_ms: float
    p90_ms: float
    crops_per_s: float
    peak_rss_mb: float
    depth_median_um: float | None = None
    depth_max_um: float | None = None
    mask_disagree: float | None = None


def bench_mesh(seed: int, max_faces: int) -> tuple[MeshTensors, float]:
    """The test object (a procedural asymmetric object, decimated) and its diameter in metres."""
    model = simplify_for_rendering(procedural_object(seed), max_faces)
    return MeshTensors.from_object_model(model), float(model.diameter)


def case_inputs(case: Case, diameter: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 4, 4) random poses near 0.5 m and (B, 3, 3) intrinsics: crop cameras, or the frame camera."""
    g = torch.Generator().manual_seed(seed)
    rot = so3_exp(torch.randn(case.batch, 3, generator=g) * 2.0)
    t = torch.cat([(torch.rand(case.batch, 2, generator=g) - 0.5) * 0.1, torch.full((case.batch, 1), 0.5)], dim=1)
    T = make_transform(rot, t)
    if case.height == case.width and case.height <= 160:
        M = crop_affine(T, K_FRAME, diameter, crop_ratio=1.2, out_size=case.height)
        return T, crop_intrinsics(K_FRAME, M)
    return T, K_FRAME.expand(case.batch, 3, 3).clone()


def make_depth_fn(name: str):  # noqa: ANN201 - returns a renderer-specific closure
    """A function (mesh, T, K, H, W) -> (B, H, W) depth numpy array for renderer ``name``."""
    if name.startswith("torch"):
        from fpose_ros.core.rendering.rasterize import rasterize
        from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer

        if name == "torch-rasterize-only":
            def raster(mesh, T, K, H, W):  # noqa: ANN001, ANN202
                v = mesh.vertices[None] @ T[:, :3, :3].transpose(1, 2) + T[:, None, :3, 3]
                return rasterize(v, mesh.faces, K, H, W).depth.numpy()
            return raster
        renderer = TorchRasterizer(cull_backfaces=name == "torch-cull")
        return lambda mesh, T, K, H, W: renderer.render(mesh, T, K, H, W).depth.numpy()
    if name == "embree":
        from fpose_ros.core.rendering.embree_raycaster import EmbreeRaycaster

        renderer = EmbreeRaycaster()
        return lambda mesh, T, K, H, W: renderer.render(mesh, T, K, H, W).depth.numpy()
    if name == "open3d":
        return _open3d_depth_fn()
    raise ValueError(f"unknown renderer {name!r}; choose from {RENDERERS}")


def _open3d_depth_fn():  # noqa: ANN202
    """Depth by Open3D's RaycastingScene: all rays of the batch in one call, hit distance -> z."""
    import open3d as o3d

    scenes: dict[int, object] = {}

    def depth(mesh, T, K, H, W):  # noqa: ANN001, ANN202
        if id(mesh) not in scenes:
            scene = o3d.t.geometry.RaycastingScene()
            faces = mesh.faces.numpy().astype(np.uint32)  # Open3D wants unsigned indices
            scene.add_triangles(o3d.core.Tensor(mesh.vertices.numpy()), o3d.core.Tensor(faces))
            scenes[id(mesh)] = scene
        R, t = T[:, :3, :3], T[:, :3, 3]
        v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                              indexing="ij")
        pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1).view(-1, 3)
        rays_cam = pixels[None] @ torch.linalg.inv(K).transpose(1, 2)  # (B, HW, 3), z = 1
        dirs = rays_cam @ R  # object frame: R^T d
        origins = (-(R.transpose(1, 2) @ t[..., None]))[..., 0][:, None].expand_as(dirs)
        rays = torch.cat([origins, dirs], dim=-1).reshape(-1, 6).contiguous()
        hit = scenes[id(mesh)].cast_rays(o3d.core.Tensor(rays.numpy()))["t_hit"].numpy()
        # t_hit is in units of the direction's length; the camera-frame direction has z = 1.
        return np.where(np.isfinite(hit), hit, 0.0).reshape(len(T), H, W).astype(np.float32)
    return depth


def run_worker(name: str, seed: int, max_faces: int, repeats: int, threads: int, depth_out: Path) -> list[dict]:
    """Time renderer ``name`` on every case in this process; save the first items' depth for agreement."""
    torch.set_num_threads(threads)
    mesh, diameter = bench_mesh(seed, max_faces)
    fn = make_depth_fn(name)
    rows, depths = [], {}
    for case in CASES:
        T, K = case_inputs(case, diameter)
        fn(mesh, T, K, case.height, case.width)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(mesh, T, K, case.height, case.width)
            times.append(time.perf_counter() - start)
        depths[case.name] = fn(mesh, T[:_AGREEMENT_ITEMS], K[:_AGREEMENT_ITEMS], case.height, case.width)
        med = float(np.median(times))
        rows.append(dict(renderer=name, case=case.name, median_ms=1e3 * med,
                         p90_ms=1e3 * float(np.percentile(times, 90)), crops_per_s=case.batch / med,
                         peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
    np.savez(depth_out, **depths)
    return rows


def agreement(depth: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """(median |dz| um, max |dz| um) on pixels both draw, and the fraction of pixels whose masks differ."""
    both = (depth > 0) & (reference > 0)
    dz = np.abs(depth[both] - reference[both]) * 1e6 if both.any() else np.zeros(1)
    return float(np.median(dz)), float(dz.max()), float(((depth > 0) != (reference > 0)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderers", nargs="+", default=list(RENDERERS), choices=RENDERERS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faces", type=int, default=3000, help="decimate the object to at most this many faces")
    parser.add_argument("--seed", type=int, default=0, help="procedural object seed")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--depth-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.seed, args.faces, args.repeats, args.threads, args.depth_out)))
        return

    names = list(dict.fromkeys(["embree", *args.renderers]))  # Embree is the depth reference
    results, depths = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / f"{name}.npz"
            cmd = [sys.executable, __file__, "--worker", name, "--threads", str(args.threads), "--faces",
                   str(args.faces), "--seed", str(args.seed), "--repeats", str(args.repeats), "--depth-out", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"{name}: failed\n{proc.stderr.strip()[-2000:]}", file=sys.stderr)
                continue
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            depths[name] = dict(np.load(out))
    rows = []
    for name in args.renderers:
        for r in results.get(name, []):
            if "embree" in depths and name in depths:
                r.update(zip(("depth_median_um", "depth_max_um", "mask_disagree"),
                             agreement(depths[name][r["case"]], depths["embree"][r["case"]]), strict=True))
            rows.append(Row(**r))
    mesh, _ = bench_mesh(args.seed, args.faces)
    print(f"object: procedural seed {args.seed}, {len(mesh.faces)} faces; torch threads {args.threads}")
    print(f"{'renderer':22s} {'case':17s} {'median ms':>10s} {'p90 ms':>9s} {'crops/s':>9s} {'RSS MB':>7s} "
          f"{'dz med um':>9s} {'dz max um':>9s} {'mask diff':>9s}")
    for r in rows:
        agree = (f"{r.depth_median_um:9.2f} {r.depth_max_um:9.2f} {r.mask_disagree:9.5f}"
                 if r.depth_median_um is not None else f"{'-':>9s} {'-':>9s} {'-':>9s}")
        print(f"{r.renderer:22s} {r.case:17s} {r.median_ms:10.2f} {r.p90_ms:9.2f} {r.crops_per_s:9.0f} "
              f"{r.peak_rss_mb:7.0f} {agree}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
