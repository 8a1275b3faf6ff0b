"""CLI: train the refiner and/or the scorer on a generated data set; single process or ``torchrun`` DDP.

``python -m fpose_ros.training.train --data DIR --out DIR [--net refiner|scorer|both] [--small] [--steps N]
[--resume]``; data-parallel: ``torchrun --nproc_per_node=2 -m fpose_ros.training.train ...`` (gloo on CPU,
nccl on CUDA, gradients averaged by DistributedDataParallel). Mixed precision (:func:`autocast_dtype`): float16
autocast with gradient scaling on CUDA, bfloat16 autocast for the refiner on a CPU with native bfloat16
arithmetic (AMX or AVX512-BF16), float32 otherwise or with ``--precision fp32``.
The network's crop size is the data set's; ``--small`` trains narrow networks (width 0.25) with CPU-sized
settings (batch 32, lr 1e-3). The learning rate warms up linearly, then follows a cosine to 5 % of its peak.

Losses (FoundationPose): refiner, mean squared error of the translation output and of ``tanh(rotation
output)`` against the targets of :mod:`fpose_ros.training.samples`; scorer, pairwise hinge: the positive's
logit must beat every negative's by ``SCORE_MARGIN``.

Outputs in ``--out/<net>/``: ``model_best.pth`` + ``config.yml`` (official layout, lowest smoothed loss so far),
``train_state.pth`` (last weights, optimiser, step; for ``--resume``), ``log.csv`` and ``loss.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from fpose_ros.core.errors import ConfigError, InputError
from fpose_ros.core.nets.checkpoint import build_net, save_checkpoint
from fpose_ros.core.nets.config import WIDTH_RANGE, RefineNetConfig, ScoreNetConfig
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.nets.score_net import ScoreNet
from fpose_ros.core.validated_config import param, validate
from fpose_ros.training.shards import read_dataset, read_manifest

#: Scorer hinge margin (FoundationPose: 0.1).
SCORE_MARGIN = 0.1
#: Exponential smoothing of the logged loss that picks ``model_best``.
_SMOOTHING = 0.9
#: Final learning rate of the cosine schedule, as a fraction of the peak.
_LR_FLOOR = 0.05


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (each field's meaning and range: its ``param``)."""

    steps: int = param(1000, "Optimiser steps.", range=(1, None))
    batch: int = param(8, "Pairs per step and process: refiner pairs, or scorer groups of L pairs (batch // L "
                          "groups, at least one).", range=(1, None))
    lr: float = param(1e-4, "Peak AdamW learning rate.", range=(0, None), low_open=True)
    weight_decay: float = param(1e-4, "AdamW weight decay.", range=(0, None))
    log_every: int = param(10, "Steps between log lines / checkpoints.", range=(1, None))
    seed: int = param(0, "Sampling seed.")
    width: float = param(1.0, "Channel multiplier of the networks (1.0 = released size).", range=WIDTH_RANGE,
                         low_open=True)
    warmup: int = param(100, "Steps of linear learning-rate warm-up.", range=(1, None))

    def __post_init__(self) -> None:
        validate(self)

    def learning_rate(self, step: int) -> float:
        """Learning rate of (0-based) ``step``: linear warm-up, then cosine decay to ``_LR_FLOOR * lr``."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        return self.lr * (_LR_FLOOR + (1 - _LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


#: ``--small``: narrow networks and CPU-sized steps (pair with ``generate --small``, 64 px crops).
SMALL_TRAIN = TrainConfig(batch=32, lr=1e-3, width=0.25)


class GroupScorer(nn.Module):
    """ScoreNet over G groups at once: (G, L, 6, S, S) pairs -> (G, L) logits (groups ranked independently)."""

    def __init__(self, net: ScoreNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """The wrapped network's output for the pair (A, B)."""
        G, L = A.shape[:2]
        features = self.net.embed(A.flatten(0, 1), B.flatten(0, 1)).view(G, L, -1)
        return torch.stack([self.net.rank(f) for f in features])


def refiner_loss(trans_out: torch.Tensor, rot_out: torch.Tensor, trans_target: torch.Tensor,
                 rot_target: torch.Tensor) -> torch.Tensor:
    """MSE(trans_out, trans_target) + MSE(tanh(rot_out), rot_target); all (N, 3). Returns a scalar."""
    return (nn.functional.mse_loss(trans_out.float(), trans_target)
            + nn.functional.mse_loss(torch.tanh(rot_out.float()), rot_target))


def scorer_loss(logits: torch.Tensor, positive: torch.Tensor, margin: float = SCORE_MARGIN) -> torch.Tensor:
    """Pairwise hinge: mean over negatives of ``relu(margin - (logit_pos - logit_neg))``; (G, L), (G,) -> scalar."""
    logits = logits.float()
    pos = logits.gather(1, positive[:, None])
    hinge = torch.relu(margin - (pos - logits))
    negatives = torch.ones_like(hinge, dtype=torch.bool).scatter(1, positive[:, None], False)
    return hinge[negatives].mean()


def autocast_dtype(device: torch.device, precision: str, kind: str = "refiner") -> torch.dtype | None:
    """Autocast dtype for training network ``kind`` with ``precision`` "auto" or "fp32" on ``device``; None = float32.

    "auto": float16 on CUDA (with gradient scaling). On a CPU that computes bfloat16 natively (AMX tiles or
    AVX512-BF16) the refiner trains in bfloat16 (1.4x its float32 rate here); elsewhere bfloat16 is emulated and
    slower than float32. The scorer stays float32 on a CPU: bfloat16 resolves its logits to 1/128 of their size,
    coarser than the hinge margin of 0.1, and its training collapsed to a constant output that way.
    """
    if precision == "fp32":
        return None
    if device.type == "cuda":
        return torch.float16
    native_bf16 = (getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
                   or getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())
    return torch.bfloat16 if device.type == "cpu" and native_bf16 and kind == "refiner" else None


def setup_process() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def train_net(kind: str, data: Path, out: Path, config: TrainConfig, resume: bool, rank: int, world: int,
              device: torch.device, precision: str = "auto") -> list[dict[str, float]]:
    """Train one network ("refiner" or "scorer"); returns the log rows (step, loss, smoothed, pairs_per_s)."""
    pairs, groups = read_dataset(data)
    manifest = read_manifest(data)
    if manifest is None:
        raise InputError(f"{data}: no data-set manifest (make one with fpose_ros.training.generate)")
    sample_config = manifest.config
    size = (sample_config.crop_size, sample_config.crop_size)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    net_config: RefineNetConfig | ScoreNetConfig
    tensors: tuple[torch.Tensor, ...]
    if kind == "refiner":
        net_config = RefineNetConfig(input_resize=size, width=config.width,
                                     crop_ratio=sample_config.refine_crop_ratio,
                                     rot_normalizer=sample_config.rot_normalizer,
                                     trans_normalizer=sample_config.trans_normalizer)
        tensors = (pairs.A, pairs.B, pairs.trans_target, pairs.rot_target)
        pairs_per_item = 1
    else:
        net_config = ScoreNetConfig(input_resize=size, width=config.width, crop_ratio=sample_config.score_crop_ratio)
        tensors = (groups.A, groups.B, groups.positive)
        pairs_per_item = sample_config.group_size
    net = build_net(net_config)
    model: nn.Module = net if isinstance(net, RefineNet) else GroupScorer(net)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    out_dir = out / kind
    state_path = out_dir / "train_state.pth"
    step, best, smoothed, rows = 0, float("inf"), None, []
    if resume and state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        smoothed = float(state["smoothed"])
        rows = _read_log(out_dir / "log.csv")
    if world > 1:
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    amp_dtype = autocast_dtype(device, precision, kind)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    if rank == 0:
        print(f"[{kind}] {world} process(es) on {device}, autocast {amp_dtype or 'off (float32)'}", flush=True)
    n = len(tensors[0])
    generator = torch.Generator().manual_seed(config.seed + 1000 * rank)
    model.train()
    tick, seen = time.perf_counter(), 0
    while step < config.steps:
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate(step)
        index = torch.randint(n, (max(1, config.batch // pairs_per_item),), generator=generator)
        # Crops are stored as float16; weights stay float32 and autocast lowers the convolutions' precision.
        batch = [(t[index].float() if t.is_floating_point() else t[index]).to(device, non_blocking=True)
                 for t in tensors]
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            if kind == "refiner":
                trans_out, rot_out = model(batch[0], batch[1])
                loss = refiner_loss(trans_out, rot_out, batch[2], batch[3])
            else:
                loss = scorer_loss(model(batch[0], batch[1]), batch[2])
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        step += 1
        seen += len(index) * world * pairs_per_item
        value = float(loss.detach())
        smoothed = value if smoothed is None else _SMOOTHING * smoothed + (1 - _SMOOTHING) * value
        if step % config.log_every == 0 or step == config.steps:
            rate = seen / (time.perf_counter() - tick)
            tick, seen = time.perf_counter(), 0
            rows.append({"step": step, "loss": value, "smoothed": smoothed, "pairs_per_s": rate})
            if rank == 0:
                print(f"[{kind}] step {step}/{config.steps} loss {value:.4f} (smoothed {smoothed:.4f}) "
                      f"{rate:.1f} pairs/s", flush=True)
                if smoothed < best:
                    best = smoothed
                    save_checkpoint(net, net_config, out_dir)
                torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                            "best": best, "smoothed": smoothed}, state_path)
                _write_log(out_dir / "log.csv", rows)
                _plot(out_dir / "loss.png", rows, kind)
    return rows


def _write_log(path: Path, rows: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss", "smoothed", "pairs_per_s"])
        writer.writeheader()
        writer.writerows(rows)


def _read_log(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _plot(path: Path, rows: list[dict[str, float]], kind: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], label="loss", alpha=0.5)
    ax.plot([r["step"] for r in rows], [r["smoothed"] for r in rows], label="smoothed")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{kind} training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--net", choices=("refiner", "scorer", "both"), default="both")
    parser.add_argument("--small", action="store_true",
                        help=f"narrow networks (width {SMALL_TRAIN.width}), batch {SMALL_TRAIN.batch}, "
                             f"lr {SMALL_TRAIN.lr:g}: trains on a CPU")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=None, help="per process (default 8; 32 with --small)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-4; 1e-3 with --small)")
    parser.add_argument("--width", type=float, default=None, help="channel multiplier (default 1; 0.25 with --small)")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--precision", choices=("auto", "fp32"), default="auto",
                        help="auto (default): float16 autocast on CUDA; the refiner in bfloat16 on a CPU with native "
                             "bfloat16")
    args = parser.parse_args(argv)
    base = SMALL_TRAIN if args.small else TrainConfig()
    overrides = {"batch": args.batch, "lr": args.lr, "width": args.width}
    try:
        config = dataclasses.replace(base, steps=args.steps, log_every=args.log_every, seed=args.seed,
                                     warmup=min(base.warmup, max(1, args.steps // 10)),
                                     **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rank, world, device = setup_process()
    try:
        for kind in ("refiner", "scorer") if args.net == "both" else (args.net,):
            train_net(kind, args.data, args.out, config, args.resume, rank, world, device, args.precision)
    finally:
        if world > 1:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
