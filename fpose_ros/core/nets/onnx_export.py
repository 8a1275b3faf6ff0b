"""Export :class:`RefineNet` / :class:`ScoreNet` to ONNX in the layout Isaac ROS FoundationPose consumes.

The graph takes two channels-last inputs ``input1`` (renderings) and ``input2`` (observed crops), each
(N, 160, 160, 6) float32 with a dynamic batch N, and returns ``output1`` (N, 3) translation and ``output2``
(N, 3) rotation for the refiner, or ``output1`` (N, 1) logits for the scorer (N = the hypotheses of one
frame, which attend to each other). Usage::

    python -m fpose_ros.core.nets.onnx_export --weights weights/2023-10-28-18-33-37 --out refine_model.onnx
    python -m fpose_ros.core.nets.onnx_export --net score --weights weights/2024-01-11-20-02-45 --out score.onnx
    python -m fpose_ros.core.nets.onnx_export --random-weights --out /tmp/refine_random.onnx   # testing only
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.nets.checkpoint import load_refine_net, load_score_net
from fpose_ros.core.nets.refine_net import RefineNet
from fpose_ros.core.nets.score_net import ScoreNet

INPUT_NAMES = ("input1", "input2")
DEFAULT_OPSET = 17


class ChannelsLast(nn.Module):
    """Wraps a network taking two NCHW inputs so that it takes (N, H, W, C) inputs instead."""

    def __init__(self, net: RefineNet | ScoreNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, input1: torch.Tensor, input2: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Two (N, H, W, C) inputs -> the wrapped network's outputs (the scorer's as (N, 1))."""
        out = self.net(input1.permute(0, 3, 1, 2), input2.permute(0, 3, 1, 2))
        # The scorer's (N,) logits become (N, 1), one row per hypothesis as Isaac ROS reads them.
        return out if isinstance(out, tuple) else (out[:, None],)


def output_names(net: RefineNet | ScoreNet) -> tuple[str, ...]:
    """Graph output names: ``output1`` (+ ``output2`` for the refiner's rotation)."""
    return ("output1", "output2") if isinstance(net, RefineNet) else ("output1",)


def export_onnx(net: RefineNet | ScoreNet, path: str | Path, batch: int = 2, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``net`` (a CPU copy in eval mode; ``net`` itself is untouched) as ONNX with a dynamic batch dimension.

    Args:
        net: the network; its weights are embedded in the file (~65 MB).
        path: output file.
        batch: batch size of the example inputs used for tracing (any N works afterwards; > 1 so that
            nothing batch-dependent is constant-folded).
        opset: ONNX opset version.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A CPU copy, so the caller's network stays where it is; the wrapper must be in eval mode too, or the
    # exporter traces BatchNorm in training mode (and updates its running statistics).
    wrapper = ChannelsLast(copy.deepcopy(net).cpu()).eval()
    example = torch.rand(batch, net.input_size, net.input_size, net_channels(net))
    names = output_names(net)
    dynamic = {name: {0: "batch"} for name in (*INPUT_NAMES, *names)}
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # The fused attention / encoder-layer kernels of inference mode have no ONNX form: trace the plain ops.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript-based exporter announces its own deprecation; the dynamo exporter it points to
            # needs onnxscript, which this package does not depend on.
            warnings.simplefilter("ignore", category=DeprecationWarning)
            torch.onnx.export(wrapper, (example, example.clone()), str(path), input_names=list(INPUT_NAMES),
                              output_names=list(names), dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return path


def net_channels(net: RefineNet | ScoreNet) -> int:
    """Input channels of ``net`` (its first convolution's)."""
    encoder = net.encodeA if isinstance(net, RefineNet) else net.encoderA
    first_conv = next(m for m in encoder.modules() if isinstance(m, nn.Conv2d))
    return int(first_conv.in_channels)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", type=Path, help="checkpoint directory (model_best.pth + config.yml)")
    source.add_argument("--random-weights", action="store_true", help="export freshly initialised weights (tests)")
    parser.add_argument("--net", choices=("refine", "score"), default="refine", help="which network (default refine)")
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    args = parser.parse_args(argv)
    try:
        if args.random_weights:
            net: RefineNet | ScoreNet = RefineNet() if args.net == "refine" else ScoreNet()
        else:
            net = (load_refine_net if args.net == "refine" else load_score_net)(args.weights, "cpu")[0]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(export_onnx(net, args.out, opset=args.opset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
