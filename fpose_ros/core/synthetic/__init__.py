"""Synthetic RGB-D scenes with ground truth: assets, textures, motion, sensor noise, composition, sequences."""

from fpose_ros.core.synthetic.assets import asset_names, load_asset
from fpose_ros.core.synthetic.motion import MotionPreset, exit_and_return, trajectory
from fpose_ros.core.synthetic.sequences import (
    SequenceSpec,
    SyntheticSequence,
    benchmark_specs,
    d435_camera,
    demo_spec,
    load_or_render,
    render_sequence,
    small_spec,
)

__all__ = [
    "MotionPreset",
    "SequenceSpec",
    "SyntheticSequence",
    "asset_names",
    "benchmark_specs",
    "d435_camera",
    "demo_spec",
    "exit_and_return",
    "load_asset",
    "load_or_render",
    "render_sequence",
    "small_spec",
    "trajectory",
]
