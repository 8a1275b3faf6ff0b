"""The benchmark CLI: every published key, and a table that says which targets are met."""

import argparse
import json

import numpy as np
import pytest

from fpose_ros.bench import main
from fpose_ros.core.estimator import EstimatorConfig
from fpose_ros.core.synthetic.sequences import render_sequence, small_spec
from fpose_ros.evaluation.learned_path import (
    format_learned,
    learned_path_config,
    learned_weights_label,
    run_learned_path,
)
from fpose_ros.evaluation.offline import SequenceRun, check_targets, format_table, quick_specs, summarize


def test_summary_pools_runs_and_counts_missing_poses_as_failures():
    good = SequenceRun("a", track_ms=[10.0, 12.0], register_s=[0.5], register_ok=[True],
                       add_m=[0.001, 0.002], adds_m=[0.001, 0.001])
    lost = SequenceRun("b", track_ms=[20.0], register_s=[1.5], register_ok=[False], add_m=[np.inf, 0.001],
                       adds_m=[np.inf, 0.001], detect_frames=2, reacquire_s=0.4)
    summary = summarize([good, lost], peak_rss_mb=100.0)
    assert summary.registration.success_rate == 0.5
    assert summary.registration.median_s == 1.0
    assert summary.tracking.median_ms == 12.0
    assert summary.tracking.rate_hz == pytest.approx(1000.0 / 12.0)
    assert 0.7 < summary.tracking.add_auc < 0.76  # one of four frames has no pose
    assert (summary.loss.detect_frames, summary.loss.reacquire_s, summary.loss.poses_while_away) == (2, 0.4, 0)
    met = check_targets(summary)
    assert met["loss.detect_frames"] and met["registration.median_s"] and not met["registration.success_rate"]


def test_table_shows_both_methods_targets_and_verdicts():
    ours = summarize([SequenceRun("a", track_ms=[10.0], register_s=[0.5], register_ok=[True], add_m=[0.001],
                                  adds_m=[0.001])], peak_rss_mb=100.0)
    peer = summarize([SequenceRun("a", track_ms=[30.0], register_s=[2.0], register_ok=[False], add_m=[np.inf],
                                  adds_m=[np.inf])], peak_rss_mb=50.0)
    lines = format_table(ours, peer).splitlines()
    assert [c.strip() for c in lines[0].split("|")] == ["metric", "fpose_ros", "open3d", "target", "met"]
    row = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]] for line in lines[2:]}
    assert row["registration median (s)"] == ["0.500", "2.000", "<= 1.0", "yes"]
    assert row["tracking median (ms)"] == ["10.0", "30.0", "<= 15.0", "yes"]
    assert row["registration success"][1] == "0.0%"
    # No exit-and-return sequence: the loss figures are missing, shown as such, and do not pass.
    assert row["loss detected after (frames)"] == ["n/a", "n/a", "<= 3", "NO"]
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert "open3d" not in format_table(ours)


def test_never_reacquired_is_not_reported_as_a_time():
    gone = SequenceRun("c", track_ms=[10.0], register_s=[0.5], register_ok=[True], add_m=[0.001], adds_m=[0.001],
                       detect_frames=1, reacquire_s=None)
    assert summarize([gone]).loss.reacquire_s is None
    assert not check_targets(summarize([gone]))["loss.reacquire_s"]


def test_quick_set_has_an_exit_and_return_sequence():
    specs = quick_specs()
    assert len(specs) == 2 and any(s.exit_and_return for s in specs)


@pytest.mark.parametrize("argv", [["--refiner", "learned"], ["--sequences", "no_such_sequence"], ["--threads", "0"],
                                  ["--boxes", "--live"], ["--registration-only", "--live"], ["--multi-object"],
                                  ["--live", "--multi-object", "--sequences", "proc1_static"],
                                  ["--live", "--multi-object", "--soak", "10"], ["--live", "--no-baselines"]])
def test_bad_options_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--boxes" in out and "5% of its size" in out and "--live" in out


@pytest.mark.slow
def test_quick_run_writes_every_key(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--quick", "--json", str(out), "--cache", str(tmp_path / "cache")]) == 0
    data = json.loads(out.read_text())
    for section, key in [("registration", "median_s"), ("registration", "p90_s"), ("registration", "success_rate"),
                         ("tracking", "median_ms"), ("tracking", "p90_ms"), ("tracking", "add_auc"),
                         ("tracking", "adds_auc"), ("loss", "detect_frames"), ("loss", "reacquire_s")]:
        assert key in data[section]
    assert data["registration"]["trials"] >= 8
    assert data["loss"]["detect_frames"] is not None  # the exit-and-return sequence was run
    assert data["peak_rss_mb"] > 0 and data["machine"]["cores"] >= 1
    assert [row["name"] for row in data["per_sequence"]] == [s.name for s in quick_specs()]
    assert "registration median (s)" in capsys.readouterr().out


@pytest.mark.slow
def test_learned_path_section_times_registration_and_tracking(tmp_path):
    args = argparse.Namespace(refiner="learned", scorer="learned", refiner_weights=None, scorer_weights=None,
                              random_weights=True)
    base = EstimatorConfig(min_views=1, inplane_step_deg=180.0, top_k=1, register_iterations=1,
                           min_register_score=0.0)
    config = learned_path_config(args, tmp_path, base)
    assert (config.refiner, config.scorer) == ("learned", "learned")
    assert (tmp_path / "refiner" / "model_best.pth").is_file() and (tmp_path / "scorer" / "config.yml").is_file()
    seq = render_sequence(small_spec(n_frames=4))
    run = run_learned_path(seq, config, 2, learned_weights_label(args))
    assert run.registration_s > 0 and len(run.track_ms) == 2 and all(t > 0 for t in run.track_ms)
    assert len(run.track_adds_m) == 2
    text = format_learned(run)
    assert "weights: refiner random, scorer random" in text and "timings only" in text


def test_learned_weights_must_exist(tmp_path):
    with pytest.raises(SystemExit):
        main(["--refiner", "learned", "--refiner-weights", str(tmp_path / "missing")])
