"""Renderer selection by name."""

import pytest

from fpose_ros.core.errors import ConfigError
from fpose_ros.core.rendering.embree_raycaster import EmbreeRaycaster, embree_available
from fpose_ros.core.rendering.factory import create_renderer
from fpose_ros.core.rendering.torch_rasterizer import TorchRasterizer


def test_known_backends():
    assert isinstance(create_renderer("torch", "cpu"), TorchRasterizer)
    assert isinstance(create_renderer("embree", "cpu"), EmbreeRaycaster)


def test_auto_picks_embree_on_cpu_and_torch_elsewhere():
    expected = EmbreeRaycaster if embree_available() else TorchRasterizer  # embreex: x86-64 wheels only
    assert isinstance(create_renderer("auto", "cpu"), expected)
    assert isinstance(create_renderer("auto", "cuda"), TorchRasterizer)  # no CUDA needed to choose


@pytest.mark.parametrize(("backend", "device"), [("opengl", "cpu"), ("nvdiffrast", "cpu"), ("embree", "cuda")])
def test_unknown_or_impossible_backends_say_why(backend, device):
    with pytest.raises(ConfigError, match=backend):
        create_renderer(backend, device)
