"""The multi-object live benchmark's figures per object, issue 15's acceptance 1 and the printed table.

ROS-free: pure functions on each object's per-frame records (:class:`~fpose_ros.evaluation.statistics.FrameRecord`,
stamp order, one list per object over the same frames), filled by :mod:`fpose_ros.evaluation.live_multi_object`.

Definitions (docs/benchmark.md, "Multi-object live benchmark", repeats them):

* An object's **visible frames** are those where its label shows at least ``MIN_VISIBLE_PIXELS`` pixels
  (occlusion by the other objects included); coverage, ADD / ADD-S AUC are over those, as for one object.
* **Output rate**: poses received per second while the object is in view
  (:func:`~fpose_ros.evaluation.statistics.output_rate_hz`, as for one object), so the seconds an object
  spends out of view do not count against it.
* A **registration window** of an object: from the publication of a frame it registered on (status
  ``num_hypotheses`` > 1 with a pose) to the arrival of that pose.
* **Dropped while others register**: frames of an object published inside another object's registration
  window that got no pose although the object was in view and tracking when that window began (its
  last status on an earlier frame said "tracking"), and that lie inside no registration window of its
  own. Issue 15 asks for none.
* **Per-frame cost** (acceptance 2): the node process's CPU seconds (user + system, all threads) while the
  sequence played, per input frame, so it holds what the objects share (DDS receive, image decode, depth
  clean-up) as well as each object's tracking. The cost of one object is the mean over the runs of the same
  play into a node configured with each object alone; issue 15 asks for ``three / mean of one <= 2.2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from fpose_ros.core.metrics import auc
from fpose_ros.evaluation.detector_masks import MASK_EVERY_VISIBLE_FRAMES
from fpose_ros.evaluation.live_figures import ACCEPTANCE_3HZ, ACCEPTANCE_10HZ, failed_labels
from fpose_ros.evaluation.statistics import (
    WRONG_POSE_DIAMETERS,
    FrameRecord,
    Target,
    latency_outside_catch_up_ms,
    output_rate_hz,
    percentile,
)
from fpose_ros.evaluation.tables import columns, number

#: Issue 15's acceptance 1 per object, masks at 10 Hz: (label in the table, target). Coverage, ADD-S and rate
#: as for one object (issue 13); latency p90 <= 40 ms; no frame dropped while another object registers.
_ONE_OBJECT = dict(ACCEPTANCE_10HZ)
ACCEPTANCE_MULTI = (
    ("cov", _ONE_OBJECT["cov"]),
    ("adds", _ONE_OBJECT["adds"]),
    ("hz", _ONE_OBJECT["hz"]),
    ("lat", Target("latency_p90_outside_catch_up_ms", "<=", 40.0)),
    ("regdrop", Target("dropped_while_others_register", "<=", 0)),
)
#: Issue 15's acceptance 2: per-frame cost with all objects over the mean cost with one object alone, at most.
COST_RATIO_MAX = 2.2
#: Masks sparser than 10 Hz (``3hz``): coverage as for one object with such masks (issue 13's acceptance 2).
ACCEPTANCE_MULTI_SPARSE = (("cov", dict(ACCEPTANCE_3HZ)["cov"]), *ACCEPTANCE_MULTI[1:])


@dataclass
class ObjectFigures:
    """One object's figures in one multi-object run (times in s or ms as named, NaN when undefined).

    Attributes:
        name: the object's name (its topic prefix).
        visible_frames: frames where the object is in view.
        poses: poses received for its visible frames.
        coverage: ``poses / visible_frames``.
        add_auc, adds_auc: AUC (0-10 cm) over its visible frames, no pose = infinite error.
        output_rate_hz: poses per second while in view (module docstring).
        latency_p50_ms, latency_p90_ms: colour frame published -> pose received, over all its poses.
        latency_p90_outside_catch_up_ms: that p90 outside the catch-ups after its own registrations.
        registrations: frames it registered on (with a pose).
        registration_s: per registration, its window's length (frame published -> pose received), seconds.
        wrong_poses: poses with ADD-S above 10 % of its diameter, on any frame.
        dropped_while_others_register: see the module docstring.
        acceptance_failed: labels of :data:`ACCEPTANCE_MULTI` it misses.
    """

    name: str
    visible_frames: int
    poses: int
    coverage: float
    add_auc: float
    adds_auc: float
    output_rate_hz: float
    latency_p50_ms: float
    latency_p90_ms: float
    latency_p90_outside_catch_up_ms: float
    registrations: int
    registration_s: list[float]
    wrong_poses: int
    dropped_while_others_register: int
    acceptance_failed: list[str] = field(default_factory=list)

    def check(self, mask_every: int) -> None:
        """Fill ``acceptance_failed`` against issue 15's acceptance 1 (``mask_every`` 3) or its sparse variant."""
        targets = ACCEPTANCE_MULTI if mask_every == MASK_EVERY_VISIBLE_FRAMES else ACCEPTANCE_MULTI_SPARSE
        self.acceptance_failed = failed_labels({k: v for k, v in asdict(self).items() if isinstance(v, int | float)},
                                               targets)


@dataclass
class MultiObjectRun:
    """One multi-object sequence played under one mask timing into one node.

    Attributes:
        sequence, timing: names; mask_every: the detector's schedule (3: 10 Hz).
        frames: frames published.
        objects: per object, in the node's ``object_names`` order.
        cpu_s_per_frame: the node process's CPU (all threads) while the sequence played, per frame.
        peak_rss_mb: the node's RSS high-water mark, MB.
    """

    sequence: str
    timing: str
    mask_every: int
    frames: int
    objects: list[ObjectFigures]
    cpu_s_per_frame: float
    peak_rss_mb: float

    @property
    def passed(self) -> bool:
        """Every object meets the acceptance."""
        return all(not o.acceptance_failed for o in self.objects)


def registration_windows(records: Sequence[FrameRecord]) -> list[tuple[float, float]]:
    """(frame published, its pose received) in monotonic seconds, per frame the object registered on."""
    return [(r.published_s, r.pose_received_s) for r in records
            if r.hypotheses > 1 and r.pose is not None and r.published_s is not None
            and r.pose_received_s is not None]


def dropped_while_others_register(records: Sequence[FrameRecord],
                                  others: Sequence[tuple[float, float]]) -> int:
    """Frames of one object without a pose while another registered (module docstring).

    Args:
        records: the object's records, stamp order (``in_view``, ``pose``, ``mode``, ``hypotheses``,
            ``published_s`` and ``pose_received_s`` set).
        others: the other objects' registration windows (:func:`registration_windows`).
    """
    own = registration_windows(records)
    dropped: set[int] = set()
    for start, end in others:
        before = [r for r in records if r.mode and r.published_s is not None and r.published_s < start]
        if not before or before[-1].mode != "tracking":
            continue  # not tracking when the other object's registration began: nothing of it to drop
        dropped |= {i for i, r in enumerate(records)
                    if r.published_s is not None and start <= r.published_s <= end and r.in_view
                    and r.pose is None and not any(a <= r.published_s <= b for a, b in own)}
    return len(dropped)


def object_figures(name: str, records: Sequence[FrameRecord], diameter: float,
                   others: Sequence[tuple[float, float]]) -> ObjectFigures:
    """:class:`ObjectFigures` of one object (not yet checked).

    Args:
        name: the object's name.
        records: its records, stamp order, errors filled (:func:`~fpose_ros.evaluation.statistics.fill_errors`).
        diameter: its diameter, metres.
        others: the other objects' registration windows.
    """
    visible = [r for r in records if r.in_view]
    posed = [r for r in visible if r.pose is not None]
    own = registration_windows(records)
    latencies = [r.latency_ms for r in records if r.pose is not None]
    adds = np.array([r.adds for r in visible])
    return ObjectFigures(
        name=name, visible_frames=len(visible), poses=len(posed),
        coverage=len(posed) / len(visible) if visible else math.nan,
        add_auc=auc(np.array([r.add for r in visible])) if visible else math.nan,
        adds_auc=auc(adds) if visible else math.nan,
        output_rate_hz=output_rate_hz(records),
        latency_p50_ms=percentile(latencies, 50), latency_p90_ms=percentile(latencies, 90),
        latency_p90_outside_catch_up_ms=latency_outside_catch_up_ms(records)[0],
        registrations=len(own), registration_s=[end - start for start, end in own],
        wrong_poses=sum(1 for r in records if r.pose is not None and r.adds > WRONG_POSE_DIAMETERS * diameter),
        dropped_while_others_register=dropped_while_others_register(records, others))


def score_objects(names: Sequence[str], records: Sequence[Sequence[FrameRecord]], diameters: Sequence[float],
                  mask_every: int) -> list[ObjectFigures]:
    """Every object's checked figures; ``records[k]`` and ``diameters[k]`` belong to ``names[k]``."""
    windows = [registration_windows(r) for r in records]
    out = []
    for k, name in enumerate(names):
        others = [w for j, ws in enumerate(windows) if j != k for w in ws]
        figures = object_figures(name, records[k], diameters[k], others)
        figures.check(mask_every)
        out.append(figures)
    return out


def format_multi_object_table(runs: Sequence[MultiObjectRun]) -> str:
    """One row per object of each run, with its verdict against issue 15's acceptance 1 (docs/benchmark.md)."""
    header = ["sequence / timing", "object", "visible", "coverage", "ADD AUC", "ADD-S AUC", "out Hz",
              "lat p50/p90 ms", "p90 steady ms", "regs", "wrong", "dropped (others reg.)", "CPU s/frame",
              "acc 1"]
    rows = []
    for run in runs:
        for o in run.objects:
            rows.append([
                f"{run.sequence} / {run.timing}", o.name, str(o.visible_frames), number(o.coverage, ".3f"),
                number(o.add_auc, ".3f"), number(o.adds_auc, ".3f"), number(o.output_rate_hz, ".1f"),
                f"{number(o.latency_p50_ms, '.1f')}/{number(o.latency_p90_ms, '.1f')}",
                number(o.latency_p90_outside_catch_up_ms, ".1f"), str(o.registrations), str(o.wrong_poses),
                str(o.dropped_while_others_register), number(run.cpu_s_per_frame, ".4f"),
                "pass" if not o.acceptance_failed else "FAIL " + ",".join(o.acceptance_failed)])
    return columns(header, rows)


@dataclass
class CostRatio:
    """One cost of the node with all objects against the mean of the nodes with each object alone, one timing.

    Attributes:
        timing: the mask timing's name.
        quantity: what is compared (``cpu_s_per_frame`` or ``peak_rss_mb``, as in :class:`MultiObjectRun`).
        all_objects: its value with every object configured.
        alone: per object name, its value with that object alone (the same frames and label images).
    """

    timing: str
    quantity: str
    all_objects: float
    alone: dict[str, float]

    @property
    def mean_alone(self) -> float:
        """The mean over the objects alone (NaN when there are none)."""
        return float(np.mean(list(self.alone.values()))) if self.alone else math.nan

    @property
    def ratio(self) -> float:
        """``all_objects / mean_alone`` (NaN when the mean is not positive)."""
        mean = self.mean_alone
        return self.all_objects / mean if mean > 0 else math.nan

    @property
    def passed(self) -> bool | None:
        """Issue 15's acceptance 2, ratio at most :data:`COST_RATIO_MAX`; None for a quantity it does not judge.

        The acceptance is on the per-frame cost, the CPU per frame; the peak RSS is shown, not judged.
        """
        return self.ratio <= COST_RATIO_MAX if self.quantity == "cpu_s_per_frame" else None


def cost_ratios(all_objects: MultiObjectRun, alone: Sequence[MultiObjectRun]) -> list[CostRatio]:
    """CPU per frame and peak RSS of ``all_objects`` against ``alone`` (one run per object, the same timing).

    Raises:
        ValueError: a run of ``alone`` has not exactly one object, or another timing.
    """
    for run in alone:
        if len(run.objects) != 1 or run.timing != all_objects.timing:
            raise ValueError(f"not a one-object run of timing {all_objects.timing}: {run.timing}, "
                             f"{[o.name for o in run.objects]}")
    return [CostRatio(all_objects.timing, quantity, getattr(all_objects, quantity),
                      {run.objects[0].name: getattr(run, quantity) for run in alone})
            for quantity in ("cpu_s_per_frame", "peak_rss_mb")]


def format_cost_table(ratios: Sequence[CostRatio]) -> str:
    """One row per timing and quantity: all objects, each alone, their mean, the ratio and acceptance 2.

    The verdict is on the CPU per frame (the per-frame cost); the peak RSS row shows its ratio only.
    """
    names = list(dict.fromkeys(name for r in ratios for name in r.alone))
    labels = {"cpu_s_per_frame": ("node CPU s/frame", ".4f"), "peak_rss_mb": ("node peak RSS MB", ".0f")}
    header = ["timing", "cost", f"{len(names)} objects", *(f"{n} alone" for n in names), "mean of one",
              f"ratio ({len(names)} / one)", "acc 2"]
    rows = []
    for r in ratios:
        label, fmt = labels[r.quantity]
        verdict = {True: "pass", False: f"FAIL > {COST_RATIO_MAX}", None: "-"}[r.passed]
        rows.append([r.timing, label, number(r.all_objects, fmt),
                     *(number(r.alone.get(n, math.nan), fmt) for n in names), number(r.mean_alone, fmt),
                     number(r.ratio, ".2f"), verdict])
    return columns(header, rows)
