"""The multi-object live benchmark's per-object figures: rate in view, drops while another registers, verdicts."""

import math

import numpy as np
import pytest

from fpose_ros.evaluation.multi_object_figures import (
    MultiObjectRun,
    cost_ratios,
    dropped_while_others_register,
    format_cost_table,
    format_multi_object_table,
    registration_windows,
    score_objects,
)
from fpose_ros.evaluation.statistics import FrameRecord

PERIOD_S = 1 / 30


def records(n: int, posed=None, in_view=None, registered=(), modes=None, latency_s: float = 0.02,
            delayed: dict[int, float] | None = None) -> list[FrameRecord]:
    """``n`` frames at 30 Hz, each posed (``latency_s`` after its publication) unless ``posed`` says not.

    ``registered``: frames registered on (their pose ``delayed[i]`` seconds after publication);
    ``modes``: per frame status mode (default "tracking" where posed, "lost" elsewhere).
    """
    posed = [True] * n if posed is None else posed
    in_view = [True] * n if in_view is None else in_view
    delayed = delayed or {}
    out = []
    for i in range(n):
        published = i * PERIOD_S
        has_pose = bool(posed[i])
        mode = modes[i] if modes is not None else ("tracking" if has_pose else "lost")
        out.append(FrameRecord(stamp_ns=i, published_s=published, pose=np.eye(4) if has_pose else None,
                               pose_received_s=published + delayed.get(i, latency_s) if has_pose else None,
                               mode=mode, gt=np.eye(4), add=0.0 if has_pose else math.inf,
                               adds=0.0 if has_pose else math.inf, in_view=bool(in_view[i]),
                               hypotheses=200 if i in registered else 1))
    return out


def test_registration_windows_run_from_the_frame_to_its_pose():
    rows = records(10, registered=(3,), delayed={3: 0.5})
    assert registration_windows(rows) == [pytest.approx((3 * PERIOD_S, 3 * PERIOD_S + 0.5))]
    failed = records(10, posed=[i != 3 for i in range(10)], registered=(3,))
    assert registration_windows(failed) == []  # a registration without a pose has no window


def test_frames_dropped_while_another_object_registers_are_counted():
    other = registration_windows(records(30, registered=(10,), delayed={10: 0.3}))  # frames 10-19
    posed = [not 12 <= i <= 14 for i in range(30)]
    assert dropped_while_others_register(records(30, posed=posed), other) == 3
    # The same frames missed outside the window: not the registration's doing.
    late = [not 22 <= i <= 24 for i in range(30)]
    assert dropped_while_others_register(records(30, posed=late), other) == 0


def test_frames_the_object_could_not_have_a_pose_on_are_not_counted():
    other = registration_windows(records(30, registered=(10,), delayed={10: 0.3}))
    posed = [not 12 <= i <= 14 for i in range(30)]
    out_of_view = [not 12 <= i <= 14 for i in range(30)]
    assert dropped_while_others_register(records(30, posed=posed, in_view=out_of_view), other) == 0
    # Lost before the window (not tracking): its own loss, not the other's registration.
    lost_modes = ["tracking"] * 8 + ["lost"] * 7 + ["tracking"] * 15
    lost = [not 8 <= i <= 14 for i in range(30)]
    assert dropped_while_others_register(records(30, posed=lost, modes=lost_modes), other) == 0
    # Registering itself at the same time (its own window covers the frames): not counted either.
    own = records(30, posed=posed, registered=(11,), delayed={11: 0.2})
    assert dropped_while_others_register(own, other) == 0


def test_score_objects_judges_each_object_against_issue_15():
    good = records(60)
    registering = records(60, registered=(20,), delayed={20: 0.4})
    hurt = records(60, posed=[i != 23 for i in range(60)])  # one frame: still >= 29 Hz
    slow = records(60, latency_s=0.05)
    figures = score_objects(["a", "b", "c", "d"], [good, registering, hurt, slow], [0.1] * 4, mask_every=3)
    verdicts = {f.name: f.acceptance_failed for f in figures}
    assert verdicts["a"] == [] and verdicts["b"] == []  # b's own catch-up is not held against its p90
    assert verdicts["c"] == ["regdrop"]
    assert verdicts["d"] == ["lat"]
    c = figures[2]
    assert c.dropped_while_others_register == 1 and c.coverage == pytest.approx(59 / 60)
    assert figures[1].registrations == 1 and figures[1].registration_s == [pytest.approx(0.4)]
    assert figures[1].latency_p90_ms == pytest.approx(20.0)


def test_coverage_and_accuracy_are_over_the_visible_frames_and_sparse_masks_allow_less():
    in_view = [i < 50 for i in range(60)]
    posed = [i < 46 for i in range(60)]  # 46 of 50 visible frames: 0.92
    (figures,) = score_objects(["a"], [records(60, posed=posed, in_view=in_view)], [0.1], mask_every=3)
    assert figures.visible_frames == 50 and figures.coverage == pytest.approx(0.92)
    assert figures.adds_auc == pytest.approx(0.92, abs=0.01)
    assert figures.acceptance_failed == ["cov", "adds"]
    (sparse,) = score_objects(["a"], [records(60, posed=posed, in_view=in_view)], [0.1], mask_every=10)
    assert sparse.acceptance_failed == ["adds"]


def test_the_table_has_a_row_per_object_with_its_verdict():
    figures = score_objects(["a", "b"], [records(30), records(30, posed=[i % 3 > 0 for i in range(30)])], [0.1] * 2,
                            mask_every=3)
    run = MultiObjectRun("multi", "with", 3, 30, figures, cpu_s_per_frame=0.02, peak_rss_mb=600.0)
    assert not run.passed
    lines = format_multi_object_table([run]).splitlines()
    header = [c.strip() for c in lines[0].split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.split("|")), strict=True)) for line in lines[2:]]
    assert [r["object"] for r in rows] == ["a", "b"]
    assert rows[0]["acc 1"] == "pass" and rows[1]["acc 1"].startswith("FAIL cov")


def _run(names, cpu_s_per_frame, peak_rss_mb, timing="with"):
    figures = score_objects(names, [records(30) for _ in names], [0.1] * len(names), mask_every=3)
    return MultiObjectRun("multi", timing, 3, 30, figures, cpu_s_per_frame=cpu_s_per_frame, peak_rss_mb=peak_rss_mb)


def _table_rows(text):
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].split("|")]
    return [dict(zip(header, (c.strip() for c in line.split("|")), strict=True)) for line in lines[2:]]


def test_the_cost_ratio_is_all_objects_over_the_mean_of_each_alone():
    alone = [_run(["a"], 0.010, 500.0), _run(["b"], 0.020, 520.0), _run(["c"], 0.030, 540.0)]
    cpu, rss = cost_ratios(_run(["a", "b", "c"], 0.044, 780.0), alone)
    assert (cpu.quantity, rss.quantity) == ("cpu_s_per_frame", "peak_rss_mb")
    assert cpu.alone == {"a": 0.010, "b": 0.020, "c": 0.030}
    assert cpu.mean_alone == pytest.approx(0.020) and cpu.ratio == pytest.approx(2.2) and cpu.passed
    assert rss.mean_alone == pytest.approx(520.0) and rss.ratio == pytest.approx(1.5) and rss.passed is None
    over = cost_ratios(_run(["a", "b", "c"], 0.045, 780.0), alone)[0]
    assert over.ratio == pytest.approx(2.25) and not over.passed
    rows = _table_rows(format_cost_table([cpu, rss, over]))
    assert [r["cost"] for r in rows] == ["node CPU s/frame", "node peak RSS MB", "node CPU s/frame"]
    assert rows[0]["3 objects"] == "0.0440" and rows[0]["b alone"] == "0.0200"
    assert rows[0]["mean of one"] == "0.0200" and rows[0]["ratio (3 / one)"] == "2.20"
    assert [r["acc 2"] for r in rows] == ["pass", "-", "FAIL > 2.2"]  # the verdict is on the CPU only
    assert rows[1]["ratio (3 / one)"] == "1.50"


def test_a_cost_ratio_needs_one_object_runs_of_the_same_timing():
    all_objects = _run(["a", "b"], 0.03, 600.0)
    with pytest.raises(ValueError):
        cost_ratios(all_objects, [_run(["a", "b"], 0.01, 500.0)])
    with pytest.raises(ValueError):
        cost_ratios(all_objects, [_run(["a"], 0.01, 500.0, timing="3hz")])
    (cpu, _) = cost_ratios(all_objects, [])
    assert math.isnan(cpu.ratio) and cpu.passed is False
