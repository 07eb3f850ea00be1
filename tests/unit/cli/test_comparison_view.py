"""How comparison gates read in `canary get -o wide` and `canary watch`: the effect with its
confidence sequence against the tolerance, both backends' samples and the evidence of harm
against its threshold, one block per comparison, readable at 100 columns; threshold gates as
before."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cliworld import snap, status
from rich.console import Console

from canary.api.status import MetricResult
from canary.cli.evidence import comparison_lines, e_value, gate_table, level, value_text
from canary.cli.get import rows
from canary.cli.snapshot import Snapshot
from canary.cli.split import Split
from canary.cli.view import threshold, view

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]
LN100 = math.log(100)
THRESHOLD_GATE = {
    "name": "success-rate",
    "outcome": "Value",
    "value": 99.7,
    "min": 99,
    "verdict": "Pass",
    "time": "2025-03-01T12:00:20Z",
    "message": "99.7 is within [99, +inf]",
}


def compared(
    name: str = "errors",
    *,
    verdict: str = "Fail",
    kind: str = "ErrorRate",
    effect: float = 30.79,
    lower: float = 24.1,
    upper: float = 37.5,
    tolerance: float = 1,
    log_evidence: float = 13.2,
    canary: tuple[float, float] = (1812, 558),
    stable: tuple[float, float] = (16490, 66),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "outcome": "Value",
        "value": effect,
        "verdict": verdict,
        "time": "2025-03-01T12:00:27Z",
        "message": "canary 30.8% errors vs stable 0.4% (+30.8 pp, 99% CS [+24.1, +37.5])",
        "comparison": {
            "kind": kind,
            "effect": effect,
            "lower": lower,
            "upper": upper,
            "tolerance": tolerance,
            "logEvidence": log_evidence,
            "threshold": LN100,
            "canary": {"requests": canary[0], "failures": canary[1]},
            "stable": {"requests": stable[0], "failures": stable[1]},
            "since": "2025-03-01T11:55:30Z",
            **extra,
        },
    }


INCONCLUSIVE_LATENCY = compared(
    "latency",
    verdict="Inconclusive",
    kind="Latency",
    effect=0.12,
    lower=-0.8,
    upper=1.3,
    tolerance=0.5,
    log_evidence=0.0,
    canary=(1812, 40),
    stable=(16490, 300),
    boundary=0.25,
)
LATENCY_GATE = {"name": "latency", "compare": {"latency": {"template": "contour", "slowdown": 20}}}


def result(data: dict[str, Any]) -> MetricResult:
    return MetricResult.model_validate(data)


def progressing_with_comparisons() -> Snapshot:
    """At step 2 of 3 (25%), checked 30s and looked 3s before NOW: the threshold gate passes,
    the errors comparison fails, the latency comparison is inconclusive."""
    return snap(
        status=status(
            "Progressing",
            canaryWeight=25,
            stableWeight=75,
            currentStep=2,
            totalSteps=3,
            lastCheckTime="2025-03-01T12:00:00Z",
            lookedAt="2025-03-01T12:00:27Z",
            metrics=[THRESHOLD_GATE, compared(), INCONCLUSIVE_LATENCY],
        ),
        analysis={"metrics": [LATENCY_GATE]},
    )


def test_a_harmful_error_rate_reads_as_effect_interval_samples_and_evidence() -> None:
    evidence = result(compared()).comparison
    assert evidence is not None
    assert comparison_lines(evidence) == [
        "effect +30.79 pp, 99% CS [+24.1, +37.5] vs tolerance +1 pp: conclusive harm",
        "errors: canary 558 of 1,812 (30.79%), stable 66 of 16,490 (0.40%)",
        "evidence of harm: log 13.20 of 4.61 needed (e-value 540,365 of 100): conclusive",
    ]


def test_a_latency_comparison_names_the_boundary_and_the_stables_shifted_one() -> None:
    evidence = result(INCONCLUSIVE_LATENCY).comparison
    assert evidence is not None
    effect, samples, proof = comparison_lines(evidence, slowdown=20)
    # The level is per boundary (alpha split over them): not shown as the gate's.
    assert effect == "effect +0.12 pp, CS [-0.8, +1.3] vs tolerance +0.5 pp: not conclusive yet"
    assert samples == (
        "slow requests: canary 40 of 1,812 > 0.25 (2.21%), stable 300 of 16,490 > 0.208 (1.82%)"
    )
    assert proof.endswith("(e-value 1 of 100): not conclusive")
    assert "> less slowdown" in comparison_lines(evidence)[1]


def test_a_passing_comparison_is_conclusively_within_its_tolerance() -> None:
    passing = result(compared(verdict="Pass", effect=0.1, lower=-0.4, upper=0.6, log_evidence=0))
    assert passing.comparison is not None
    effect = comparison_lines(passing.comparison)[0]
    assert effect.endswith("vs tolerance +1 pp: conclusively within it")


def test_levels_and_e_values_read_without_overflow() -> None:
    evidence = result(compared()).comparison
    assert evidence is not None
    assert level(evidence) == "99%"
    assert level(evidence.model_copy(update={"threshold": math.log(300)})) == "99.67%"
    assert e_value(LN100) == "100" and e_value(1e6) == "e^1000000"
    assert (e_value(0), e_value(1.2), e_value(20)) == ("1", "3.32", "4.85e+08")


def test_values_and_bounds_of_both_kinds_of_gate() -> None:
    harm, gate = result(compared()), result(THRESHOLD_GATE)
    assert (value_text(harm), threshold(harm)) == ("+30.79 pp", "<= +1 pp")
    assert (value_text(gate), threshold(gate)) == ("99.7", ">= 99")
    no_data = result({**THRESHOLD_GATE, "outcome": "NoData", "value": None, "max": 100})
    assert (value_text(no_data), threshold(no_data)) == ("NoData", "99 to 100")


def test_the_gate_table_puts_each_comparisons_evidence_under_its_row() -> None:
    results = [result(THRESHOLD_GATE), result(compared()), result(INCONCLUSIVE_LATENCY)]
    lines = gate_table(results, NOW, slowdown={"latency": 20}).splitlines()
    assert lines[0].split() == ["GATE", "VERDICT", "VALUE", "AGAINST", "CHECKED", "DETAIL"]
    assert lines[1].split()[:5] == ["success-rate", "Pass", "99.7", ">=", "99"]
    assert lines[1].endswith("99.7 is within [99, +inf]")
    assert lines[2].split()[:6] == ["errors", "Fail", "+30.79", "pp", "<=", "+1"]
    assert lines[2].endswith("conclusive harm")
    assert lines[3].startswith("    effect +30.79 pp, 99% CS")
    assert lines[6].split()[:2] == ["latency", "Inconclusive"]
    assert lines[8].startswith("    slow requests:")
    assert len(lines) == 10
    assert max(len(line) for line in lines) < 100


def test_get_wide_adds_the_last_look_the_verdicts_and_every_gate() -> None:
    one = progressing_with_comparisons()
    text = rows([one], NOW, all_namespaces=False, wide=True)
    lines = text.splitlines()
    assert lines[0].endswith("LAST CHECK   AGE   LAST LOOK   GATES P/F/I")
    assert lines[1].endswith("30s   3s          1/1/1")
    assert "Canary shop/api: gates at the last check or look" in text
    assert "> 0.208 (1.82%)" in text  # the slowdown is read from the spec
    assert max(len(line) for line in lines) < 100
    # Not wide: the columns of before.
    assert rows([one], NOW, all_namespaces=False).splitlines()[0].endswith("LAST CHECK   AGE")


def test_get_wide_says_when_there_is_no_gate_result_yet() -> None:
    text = rows([snap(status=status("Pending"))], NOW, all_namespaces=True, wide=True)
    assert text.splitlines()[1].split()[-2:] == ["-", "-"]
    assert text.endswith("Canary shop/api: no gate result yet")


def test_watch_shows_the_comparisons_below_the_metrics_at_100_columns() -> None:
    progressing = progressing_with_comparisons()
    console = Console(record=True, width=100)
    console.print(view(progressing, events=(), split=Split(False), now=NOW, conclusion=None))
    text = console.export_text()
    assert "Checks    last 30s ago, looked 3s ago, failed 0/" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("errors "))
    assert row.split()[:7] == ["errors", "+30.79", "pp", "<=", "+1", "pp", "Fail"]
    assert "Comparisons: canary vs stable, the same queries since the rollout started 5m ago" in (
        text
    )
    assert "  errors  Fail   looked 3s ago" in text
    assert "    effect +30.79 pp, 99% CS [+24.1, +37.5] vs tolerance +1 pp: conclusive harm" in text
    assert "    errors: canary 558 of 1,812 (30.79%), stable 66 of 16,490 (0.40%)" in text
    assert "  latency  Inconclusive" in text and "> 0.208 (1.82%)" in text


def test_watch_without_comparisons_draws_no_comparison_section() -> None:
    plain = snap(status=status("Progressing", metrics=[THRESHOLD_GATE]))
    console = Console(record=True, width=100)
    console.print(view(plain, events=(), split=Split(False), now=NOW, conclusion=None))
    assert "Comparisons" not in console.export_text()


def test_the_docs_show_what_get_wide_prints() -> None:
    """docs/judgement.md and docs/cli.md show this renderer's output for a healthy canary."""
    healthy = [
        {**THRESHOLD_GATE, "value": 99.42, "min": 95, "time": "2025-03-01T12:00:27Z",
         "message": "99.42 is within [95, +inf]"},
        compared(verdict="Pass", effect=0.21105618253424727, lower=-0.4694956115104523,
                 upper=0.8916079765789469, log_evidence=0.0, canary=(2410, 14),
                 stable=(21630, 80)),
        {**INCONCLUSIVE_LATENCY, "value": 0.12, "comparison": {
            **INCONCLUSIVE_LATENCY["comparison"], "upper": 0.84, "lower": -0.61,
            "canary": {"requests": 2410, "failures": 31},
            "stable": {"requests": 21630, "failures": 290}, "boundary": 250}},
    ]
    for r in healthy[1:]:
        r["comparison"]["threshold"] = math.log(200)  # two comparison gates: alpha 0.005 each
    one = snap(status=status("Progressing", metrics=healthy), analysis={"metrics": [LATENCY_GATE]})
    text = rows([one], NOW, all_namespaces=False, wide=True)
    table = text[text.index("Canary shop/api: gates") :]
    for page in ("judgement.md", "cli.md"):
        assert table in (REPO / "docs" / page).read_text(), page
