"""Figures of README's "How it works": hypotheses, a refinement sequence, the final overlay.

Run: ``.venv/bin/python scripts/make_figures.py [--out docs/figures]``. Deterministic (a seeded
synthetic frame of the demo object); writes ``hypotheses.png``, ``refinement.png``, ``overlay.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from fpose_ros.core.estimator import build_estimator
from fpose_ros.core.hypotheses import IcosphereHypotheses, hypothesis_poses, initial_translation
from fpose_ros.core.metrics import adds_error
from fpose_ros.core.observation import observation_from_frame
from fpose_ros.core.pose_conditioned_crop import crop_affine, crop_intrinsics, warp_to_crop
from fpose_ros.core.refinement.geometric import GeometricRefiner, GeometricRefinerConfig
from fpose_ros.core.rendering.base import MeshTensors
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer
from fpose_ros.core.synthetic.sequences import demo_spec, load_or_render

CROP = 160


def _outline(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    out = image.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, 1, cv2.LINE_AA)
    return out


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--cache", type=Path, default=Path("out/cache"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    seq = load_or_render(demo_spec(), args.cache)
    i = 20
    frame, mask, model = seq.frames[i], seq.masks[i], seq.model
    renderer = TorchRasterizer()
    mesh = MeshTensors.from_object_model(model)
    obs = observation_from_frame(frame, mask, "cpu", 0.1, 4.0, False)
    K = obs.K
    with torch.inference_mode():
        # 1. Hypotheses: 252 rotations at the translation from the mask's median depth.
        t0 = initial_translation(obs.depth, obs.mask, K)
        poses = hypothesis_poses(IcosphereHypotheses().rotations(), t0)
        picks = torch.linspace(0, len(poses) - 1, 24).long()
        M = crop_affine(poses[picks], K, model.diameter, 1.2, CROP)
        renders = renderer.render(mesh, poses[picks], crop_intrinsics(K, M), CROP, CROP)
        tiles = [_label((r.numpy() * 255).astype(np.uint8), f"#{int(k)}")
                 for r, k in zip(renders.rgb, picks, strict=True)]
        grid = np.concatenate([np.concatenate(tiles[r * 8:(r + 1) * 8], axis=1) for r in range(3)], axis=0)
        cv2.imwrite(str(args.out / "hypotheses.png"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))

        # 2. Render-and-compare refinement of one hypothesis near (not at) the truth, step by step.
        T_gt = torch.as_tensor(seq.T_cam_centered_gt[i], dtype=torch.float32)
        angles = [float(torch.linalg.matrix_norm(p[:3, :3] - T_gt[:3, :3])) for p in poses]
        start = poses[int(np.argsort(angles)[3])][None]  # a nearby but clearly wrong hypothesis
        refiner = GeometricRefiner(renderer, GeometricRefinerConfig(crop_size=64))
        M0 = crop_affine(start, K, model.diameter, 1.2, CROP)
        observed = warp_to_crop(torch.as_tensor(frame.rgb, dtype=torch.float32), M0, CROP)[0]
        tiles = []
        for iterations in range(6):
            T = refiner.refine(model, obs, start, iterations)
            r = renderer.render(mesh, T, crop_intrinsics(K, M0), CROP, CROP)
            tile = _outline(observed.numpy().astype(np.uint8), r.mask[0].numpy(), (0, 255, 0))
            err = adds_error(model.surface_points, T[0].double().numpy(), seq.T_cam_centered_gt[i])
            tiles.append(_label(tile, f"iter {iterations}: {err * 1000:.0f} mm"))
        cv2.imwrite(str(args.out / "refinement.png"), cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))

    # 3. The engine's answer on the full frame.
    result = build_estimator(model).register(frame, mask)
    image = frame.rgb.copy()
    if result.has_pose:
        with torch.inference_mode():
            r = renderer.render(mesh, torch.as_tensor(result.T_cam_centered, dtype=torch.float32)[None],
                                frame.intrinsics.matrix_tensor(), frame.shape[0], frame.shape[1])
        image = _outline(image, r.mask[0].numpy(), (0, 255, 0))
        err = adds_error(model.surface_points, result.T_cam_centered, seq.T_cam_centered_gt[i])
        image = _label(image, f"registered in {result.timings.total_ms:.0f} ms, ADD-S {err * 1000:.1f} mm")
    cv2.imwrite(str(args.out / "overlay.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}/hypotheses.png, refinement.png, overlay.png")


if __name__ == "__main__":
    main()
