"""Judging samples: values against thresholds, no data and errors by the declared policy (and
never confused with each other), the traffic guard before anything."""

from __future__ import annotations

import math

import pytest
from core_world import T0

from canary.api import Analysis, MetricGate, MetricOutcome, MetricVerdict, MinRequests
from canary.core.observations import MetricSample, Observations, RouteObservation
from canary.core.verdicts import judge_sample, judge_traffic, run_check

pytestmark = pytest.mark.unit


def gate(**fields: object) -> MetricGate:
    return MetricGate.model_validate({"name": "g", "query": "vector(1)", **fields})


@pytest.mark.parametrize(
    ("bounds", "value", "verdict", "words"),
    [
        ({"min": 99}, 99.0, "Pass", "99 is within [99, +inf]"),
        ({"min": 99}, 98.9, "Fail", "98.9 is below min 99"),
        ({"max": 500}, 500.0, "Pass", "500 is within [-inf, 500]"),
        ({"max": 500}, 501.0, "Fail", "501 is above max 500"),
        ({"min": 1, "max": 2}, 1.5, "Pass", "1.5 is within [1, 2]"),
        ({"max": 500}, math.inf, "Fail", "inf is above max 500"),
    ],
)
def test_a_value_is_judged_against_its_bounds_inclusively(
    bounds: dict[str, float], value: float, verdict: str, words: str
) -> None:
    result = judge_sample(gate(**bounds), MetricSample.of("g", value, query="q"), now=T0)
    assert (result.outcome, result.verdict, result.message) == ("Value", verdict, words)
    assert result.query == "q" and result.time == T0


def test_an_infinite_value_is_kept_out_of_the_status_value_but_named_in_the_message() -> None:
    result = judge_sample(gate(max=1), MetricSample.of("g", math.inf), now=T0)
    assert result.value is None and "inf" in result.message


@pytest.mark.parametrize("policy", ["Inconclusive", "Fail", "Pass"])
def test_no_data_and_nan_follow_the_no_data_policy(policy: str) -> None:
    for sample in (MetricSample.no_data("g"), MetricSample.of("g", math.nan)):
        result = judge_sample(gate(min=1, onNoData=policy, onError="Fail"), sample, now=T0)
        assert result.outcome is MetricOutcome.NO_DATA
        assert result.verdict == policy
        assert "no data" in result.message


@pytest.mark.parametrize("policy", ["Inconclusive", "Fail", "Pass"])
def test_a_failed_query_follows_the_error_policy_and_keeps_the_error(policy: str) -> None:
    sample = MetricSample.failed("g", "bad_data: parse error", query="sum(")
    result = judge_sample(gate(min=1, onError=policy, onNoData="Fail"), sample, now=T0)
    assert (result.outcome, result.verdict) == ("Error", policy)
    assert "bad_data: parse error" in result.message
    assert result.query == "sum("


def test_a_gate_without_a_sample_counts_as_an_error_not_as_a_pass() -> None:
    result = judge_sample(gate(min=1, onError="Fail"), None, now=T0)
    assert (result.outcome, result.verdict) == ("Error", "Fail")


def test_a_huge_error_text_is_clipped_so_the_status_stays_writable() -> None:
    sample = MetricSample.failed("g", "x" * 50_000, query="q" * 50_000)
    result = judge_sample(gate(min=1), sample, now=T0)
    assert len(result.message) < 1100 and len(result.query) <= 8192


def test_the_traffic_guard_passes_at_the_count_and_is_inconclusive_below_it() -> None:
    guard = MinRequests(count=100, template="envoy-request-count")
    assert judge_traffic(guard, MetricSample.of("r", 100), now=T0).verdict == "Pass"
    low = judge_traffic(guard, MetricSample.of("r", 99), now=T0)
    assert low.verdict == "Inconclusive" and "fewer than minRequests 100" in low.message
    silent = judge_traffic(guard, MetricSample.no_data("r"), now=T0)
    assert (silent.outcome, silent.verdict, silent.value) == ("NoData", "Inconclusive", 0.0)
    broken = judge_traffic(guard, MetricSample.failed("r", "timeout"), now=T0)
    assert (broken.outcome, broken.verdict) == ("Error", "Inconclusive")


def analysis(**fields: object) -> Analysis:
    return Analysis.model_validate({
        "metrics": [{"name": "a", "query": "x", "min": 1}, {"name": "b", "query": "y", "max": 5}],
        **fields,
    })


def observed(a: MetricSample, b: MetricSample, traffic: MetricSample | None = None) -> Observations:
    return Observations(route=RouteObservation(exists=True), metrics=(a, b), request_count=traffic)


def test_a_check_fails_if_any_gate_fails_even_when_another_is_inconclusive() -> None:
    check = run_check(analysis(), observed(MetricSample.of("a", 0), MetricSample.no_data("b")),
                      now=T0)
    assert check.verdict is MetricVerdict.FAIL
    assert check.summary.startswith("a: 0 is below min 1")


def test_a_check_is_inconclusive_if_no_gate_fails_and_one_is_inconclusive() -> None:
    check = run_check(analysis(), observed(MetricSample.of("a", 2), MetricSample.no_data("b")),
                      now=T0)
    assert check.verdict is MetricVerdict.INCONCLUSIVE


def test_a_check_passes_only_when_every_gate_passes() -> None:
    check = run_check(analysis(), observed(MetricSample.of("a", 2), MetricSample.of("b", 5)),
                      now=T0)
    assert check.verdict is MetricVerdict.PASS
    assert [r.verdict for r in check.results] == ["Pass", "Pass"]


def test_too_little_traffic_leaves_every_gate_unjudged() -> None:
    guarded = analysis(minRequests={"count": 10, "query": "r"})
    check = run_check(guarded, observed(MetricSample.of("a", 0), MetricSample.of("b", 99),
                                        MetricSample.of("r", 3)), now=T0)
    assert check.verdict is MetricVerdict.INCONCLUSIVE
    assert [r.verdict for r in check.results] == ["Inconclusive", "Inconclusive"]
    assert all(r.message.startswith("not judged") for r in check.results)
    assert check.request_count is not None and check.request_count.value == 3


def test_without_analysis_a_check_passes_with_nothing_to_report() -> None:
    check = run_check(None, observed(MetricSample.of("a", 0), MetricSample.of("b", 0)), now=T0)
    assert (check.verdict, check.results) == (MetricVerdict.PASS, ())
