"""ONNX export in Isaac ROS's layout: two (N, 160, 160, 6) inputs; onnxruntime agrees with torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fpose_ros.core.nets import RefineNet, ScoreNet
from fpose_ros.core.nets.onnx_export import export_onnx

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("net_cls", [RefineNet, ScoreNet])
def test_onnx_matches_torch(tmp_path: Path, net_cls: type) -> None:
    torch.manual_seed(0)
    net = net_cls().eval()
    path = export_onnx(net, tmp_path / "net.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    assert [i.name for i in inputs] == ["input1", "input2"]
    assert [list(i.shape[1:]) for i in inputs] == [[160, 160, 6]] * 2
    a, b = torch.rand(3, 160, 160, 6), torch.rand(3, 160, 160, 6)  # a batch other than the traced one
    got = session.run(None, {"input1": a.numpy(), "input2": b.numpy()})
    with torch.no_grad():
        expected = net(a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2))
    expected = expected if isinstance(expected, tuple) else (expected[:, None],)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e.numpy(), atol=1e-4, rtol=0)
