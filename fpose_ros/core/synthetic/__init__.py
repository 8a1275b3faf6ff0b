"""Synthetic RGB-D scenes with ground truth: assets, textures, motion, sensor noise, composition, sequences."""

from fpose_ros.core.synthetic.assets import asset_names, export_asset, load_asset
from fpose_ros.core.synthetic.motion import MotionPreset, exit_and_return, trajectory
from fpose_ros.core.synthetic.sequences import (
    SequenceSpec,
    SpecLike,
    SyntheticSequence,
    benchmark_specs,
    d435_camera,
    demo_spec,
    load_or_render,
    read_cached,
    render_sequence,
    small_spec,
    write_cached,
)
from fpose_ros.core.synthetic.textured_objects import TEXTURED_OBJECTS, textured_mesh

__all__ = [
    "TEXTURED_OBJECTS",
    "MotionPreset",
    "SequenceSpec",
    "SpecLike",
    "SyntheticSequence",
    "asset_names",
    "benchmark_specs",
    "d435_camera",
    "demo_spec",
    "exit_and_return",
    "export_asset",
    "load_asset",
    "load_or_render",
    "read_cached",
    "render_sequence",
    "small_spec",
    "textured_mesh",
    "trajectory",
    "write_cached",
]
