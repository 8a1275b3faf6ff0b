"""Every benchmark sequence by name: the engine-rendered set and the independently rendered one.

The offline and the live benchmark take their sequences from here, so a name given to
``--sequences`` selects from both sets, and each loads (or renders once and caches) through
:func:`load_sequence`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpose_ros.core.synthetic.sequences import SequenceSpec, SyntheticSequence, benchmark_specs, load_or_render
from fpose_ros.evaluation.independent_scenes import (
    IndependentSequence,
    IndependentSpec,
    independent_specs,
    load_or_render_independent,
)

#: A sequence of either set.
BenchmarkSpec = SequenceSpec | IndependentSpec


def all_benchmark_specs() -> list[BenchmarkSpec]:
    """The benchmark's sequences: the engine-rendered ones, then those rendered by pybullet (``indep_*``)."""
    return [*benchmark_specs(), *independent_specs()]


def load_sequence(spec: BenchmarkSpec, cache_dir: Path | str | None = None) -> SyntheticSequence:
    """Load ``spec`` from ``cache_dir`` or render it (and cache it there), whichever renderer it names."""
    if isinstance(spec, IndependentSpec):
        return load_or_render_independent(spec, cache_dir)
    return load_or_render(spec, cache_dir)


def scenario_kind(seq: SyntheticSequence) -> str:
    """"occluder", "exit_and_return" or "": which of issue 14's scenario acceptances applies to ``seq``."""
    spec = seq.spec
    if isinstance(spec, SequenceSpec | IndependentSpec):
        if spec.occluder:
            return "occluder"
        if spec.exit_and_return:
            return "exit_and_return"
    return ""


def visible_fractions(seq: SyntheticSequence) -> np.ndarray | None:
    """(N,) fraction of the object's silhouette that shows on each frame, where the renderer tells it, else None."""
    return seq.visible_fraction if isinstance(seq, IndependentSequence) else None
