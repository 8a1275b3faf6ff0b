"""The soak's verdicts and table: acceptance 6 on the poses outside the catch-up, the all-pose p90 beside it."""

import math

from fpose_ros.evaluation.live_soak import SoakResult, format_soak_table
from fpose_ros.evaluation.statistics import LatencyWindow


def minute(first_loop: int, registrations: int, p90_all: float, p90_steady: float, p90_catch_up: float
           ) -> LatencyWindow:
    return LatencyWindow(first_loop=first_loop, loops=15, start_s=first_loop * 4.0, poses=1245,
                         registrations=registrations, catch_up_poses=10 * registrations, p90_all_ms=p90_all,
                         p90_steady_ms=p90_steady, p90_catch_up_ms=p90_catch_up)


def soak(minutes: list[LatencyWindow], first_ms: float = 171.2, last_ms: float = 140.9) -> SoakResult:
    return SoakResult(sequence="proc4_exit_and_return", timing="with", duration_s=603.0, loops=150, frames=18000,
                      poses=12448, rss_samples=[], rss_growth_mb=7.7, latency_p90_first_ms=first_ms,
                      latency_p90_last_ms=last_ms, minutes=minutes, exceptions=0, wrong_poses=0)


def minute_rows(table: str) -> list[list[str]]:
    """The per-minute table's rows, cells stripped."""
    return [[c.strip() for c in line.split("|")] for line in table.splitlines() if line.count("|") == 6][1:]


def test_the_first_and_last_minute_outside_the_catch_up_decide_not_the_all_pose_p90():
    # The first minute holds one registration more (the stream's first), which lifts its all-pose p90.
    result = soak([minute(0, 16, 171.2, 20.0, 300.0), minute(15, 15, 140.0, 25.0, 300.0),
                   minute(135, 15, 140.9, 21.5, 310.0)])
    steady, catch_up = result.minute_changes()
    assert math.isclose(steady, 0.075) and math.isclose(catch_up, 1 / 30)  # against the first minute, not the 2nd
    table = format_soak_table(result)
    assert "20.0 / 21.5 ms, outside the catch-up (+7.5 %: within ±10%)" in table
    assert "300.0 / 310.0 ms (+3.3 %: within ±10%)" in table
    assert "171.2 / 140.9 ms, first and last 60 s (-17.7 %: outside ±10%)" in table
    rows = minute_rows(table)
    assert rows[0][:4] == ["1", "1-15", "1245", "16"] and rows[-1][:2] == ["10", "136-150"]


def test_a_slower_or_much_faster_last_minute_is_outside():
    slower = soak([minute(0, 16, 171.2, 20.0, 300.0), minute(15, 15, 140.0, 20.0, 300.0),
                   minute(20, 15, 200.0, 30.0, 300.0)], last_ms=200.0)
    table = format_soak_table(slower)
    assert "20.0 / 30.0 ms, outside the catch-up (+50.0 %: outside ±10%)" in table
    assert "(+16.8 %: outside ±10%)" in table
    # The last minute overlaps the one before (the loops did not divide evenly): named as the last.
    assert minute_rows(table)[-1][:2] == ["last", "21-35"]
    faster = soak([minute(0, 16, 171.2, 20.0, 300.0), minute(15, 15, 140.0, 17.0, 300.0)])
    assert "(-15.0 %: outside ±10%)" in format_soak_table(faster)  # either way, as acceptance 6 reads


def test_a_soak_without_minutes_says_it_cannot_compare():
    table = format_soak_table(soak([]))
    assert "n/a / n/a ms, outside the catch-up (n/a: n/a ±10%)" in table
