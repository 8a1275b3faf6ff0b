"""The benchmark CLI: every published key, and a table that says which targets are met."""

import json

import numpy as np
import pytest

from fpose_ros.bench import SequenceRun, check_targets, format_table, main, summarize


def test_summary_pools_runs_and_counts_missing_poses_as_failures():
    good = SequenceRun("a", track_ms=[10.0, 12.0], register_s=[0.5], register_ok=[True],
                       add_m=[0.001, 0.002], adds_m=[0.001, 0.001])
    lost = SequenceRun("b", track_ms=[20.0], register_s=[1.5], register_ok=[False], add_m=[np.inf, 0.001],
                       adds_m=[np.inf, 0.001], detect_frames=2, reacquire_s=0.4)
    summary = summarize([good, lost])
    assert summary.registration["success_rate"] == 0.5
    assert summary.registration["median_s"] == 1.0
    assert summary.tracking["median_ms"] == 12.0
    assert 0.7 < summary.tracking["add_auc"] < 0.76  # one of four frames has no pose
    assert summary.loss == {"detect_frames": 2, "reacquire_s": 0.4, "poses_while_away": 0}
    met = check_targets(summary)
    assert met["loss.detect_frames"] and not met["registration.success_rate"]
    table = format_table(summary)
    assert "registration success" in table and "NO" in table


def test_never_reacquired_is_not_reported_as_a_time():
    gone = SequenceRun("c", track_ms=[10.0], register_s=[0.5], register_ok=[True], add_m=[0.001], adds_m=[0.001],
                       detect_frames=1, reacquire_s=None)
    assert summarize([gone]).loss["reacquire_s"] is None
    assert not check_targets(summarize([gone]))["loss.reacquire_s"]


@pytest.mark.slow
def test_quick_run_writes_every_key(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--quick", "--json", str(out), "--cache", str(tmp_path / "cache")]) == 0
    data = json.loads(out.read_text())
    for section, key in [("registration", "median_s"), ("registration", "p90_s"), ("registration", "success_rate"),
                         ("tracking", "median_ms"), ("tracking", "p90_ms"), ("tracking", "add_auc"),
                         ("tracking", "adds_auc"), ("loss", "detect_frames"), ("loss", "reacquire_s")]:
        assert key in data[section]
    assert data["peak_rss_mb"] > 0 and data["machine"]["cores"] >= 1
    assert "registration median (s)" in capsys.readouterr().out
