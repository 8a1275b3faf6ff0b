"""Tables of the evaluation: aligned columns (one row per run) and two-column summaries, as printed.

One formatter for the offline benchmark, the live benchmark, the soak and ``fpose-replay``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fpose_ros.evaluation.statistics import HIDDEN_FRACTION, SHOWN_FRACTION, ReplaySummary, ScenarioFigures


def number(value: object, fmt: str) -> str:
    """``value`` formatted with ``fmt``; "n/a" for None, "inf" / "nan" for non-finite floats."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return format(value, fmt)


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, columns aligned and separated by " | ", a rule under the header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = " | ".join("{:<" + str(w) + "}" for w in widths)
    return "\n".join([line.format(*header), "-+-".join("-" * w for w in widths), *(line.format(*r) for r in rows)])


def pairs(rows: Sequence[tuple[str, str]]) -> str:
    """(name, value) rows as an aligned two-column table."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def format_replay_table(summary: ReplaySummary) -> str:
    """A replay's summary (``fpose-replay``) as a two-column table."""
    latency = " / ".join(number(v, ".1f") for v in (summary.latency_p50_ms, summary.latency_p90_ms,
                                                     summary.latency_max_ms))
    rows = [
        ("frames (poses)", f"{summary.frames} ({summary.poses})"),
        ("coverage", number(summary.coverage * 100, ".1f") + " %"),
        ("ADD AUC (0-10 cm)", number(summary.add_auc, ".3f")),
        ("ADD-S AUC (0-10 cm)", number(summary.adds_auc, ".3f")),
        ("input rate", number(summary.input_rate_hz, ".1f") + " Hz"),
        ("output rate", number(summary.output_rate_hz, ".1f") + " Hz"),
        ("latency p50 / p90 / max", f"{latency} ms"),
        ("latency p90 outside catch-up", number(summary.latency_p90_outside_catch_up_ms, ".1f") + " ms"),
        ("frames dropped by node", str(summary.frames_dropped)),
        ("first pose after", number(summary.time_to_first_pose_s, ".2f") + " s"),
        ("re-acquired after", ", ".join(number(v, ".2f") + " s" for v in summary.reacquire_s) or "no loss"),
        ("modes", " -> ".join(summary.modes) or "none"),
    ]
    return pairs(rows)


def format_scenario_table(rows: Sequence[tuple[str, ScenarioFigures]]) -> str:
    """Occlusion and leave-and-return figures (issue 14, acceptance 2 and 3), one row per (label, figures)."""
    header = ["run", "coverage in view", f"coverage >= {SHOWN_FRACTION:.0%} shown",
              f"poses < {HIDDEN_FRACTION:.0%} shown", "wrong poses", "registrations after return",
              "return: mask -> correct pose s", "acceptance"]
    lines = []
    for label, f in rows:
        failed = f.failed()
        verdict = ("n/a" if not f.judged else
                   f"{f.kind}: pass" if not failed else f"{f.kind}: FAIL " + ", ".join(failed))
        lines.append([label, number(f.coverage_visible, ".3f"), number(f.coverage_shown, ".3f"),
                      number(f.poses_hidden, "d"), str(f.wrong_poses), number(f.registrations_after_return, "d"),
                      number(f.first_correct_after_return_s, ".2f"), verdict])
    return columns(header, lines)


def flatten_keys(tree: dict, prefix: str = "") -> dict:
    """A nested dict as one level, keys joined with dots: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten_keys(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
