"""Judge metric samples: a value against `[min, max]`, no data and errors by the gate's declared
policy, and the traffic guard before anything. "No data" and "error" stay distinct outcomes all
the way to the status; nothing is collapsed into a boolean.

Pure: the samples come in as values; nothing here queries or reads the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canary.api.analysis import Analysis, MetricGate, MinRequests, OutcomePolicy
from canary.api.status import (
    MESSAGE_LIMIT,
    QUERY_LIMIT,
    MetricOutcome,
    MetricResult,
    MetricVerdict,
)
from canary.core.comparisons import is_harm, is_pending, judge_comparison
from canary.core.context import clip
from canary.core.observations import MetricSample, Observations, SampleOutcome

TRAFFIC_GUARD = "minRequests"

_POLICY = {
    OutcomePolicy.PASS: MetricVerdict.PASS,
    OutcomePolicy.FAIL: MetricVerdict.FAIL,
    OutcomePolicy.INCONCLUSIVE: MetricVerdict.INCONCLUSIVE,
}


@dataclass(frozen=True)
class Check:
    """The judgement of one metric check (or of one look between checks): its verdict and the
    result of every gate judged. `harm` names the comparison results that are conclusive
    evidence of harm: those roll the canary back at once, whatever the failure threshold."""

    verdict: MetricVerdict
    results: tuple[MetricResult, ...]
    request_count: MetricResult | None
    summary: str
    harm: tuple[MetricResult, ...] = ()

    @property
    def pending(self) -> bool:
        """Inconclusive only because comparisons with data are not yet conclusive: evidence is
        accumulating (nothing is broken), so the step holds without counting towards
        `inconclusiveLimit`, and a look that finds it conclusive moves on."""
        unsure = [r for r in self.results if r.verdict is MetricVerdict.INCONCLUSIVE]
        traffic = self.request_count
        return (
            self.verdict is MetricVerdict.INCONCLUSIVE
            and (traffic is None or traffic.verdict is MetricVerdict.PASS)
            and bool(unsure)
            and all(is_pending(r) for r in unsure)
        )


def _num(value: float) -> str:
    return f"{value:g}"


def _value_of(sample: MetricSample) -> float | None:
    """The sample's number, or None when there is nothing to judge (no data, NaN, error)."""
    value = sample.value if sample.outcome is SampleOutcome.VALUE else None
    return None if value is None or math.isnan(value) else float(value)


def judge_sample(gate: MetricGate, sample: MetricSample | None, *, now: datetime) -> MetricResult:
    """One gate's result: Pass/Fail for a value, the declared policy for no data and errors."""
    base: dict[str, Any] = {"name": gate.name, "min": gate.min, "max": gate.max, "time": now}
    if sample is None:
        verdict = _POLICY[gate.on_error]
        return MetricResult(
            **base, outcome=MetricOutcome.ERROR, verdict=verdict,
            message=f"no sample was observed for this gate; counted as {verdict} (onError)",
        )
    base["query"] = clip(sample.query, QUERY_LIMIT)
    if sample.outcome is SampleOutcome.ERROR:
        verdict = _POLICY[gate.on_error]
        error = clip(sample.error or "unknown error", 1000)
        return MetricResult(
            **base, outcome=MetricOutcome.ERROR, verdict=verdict,
            message=f"query failed: {error}; counted as {verdict} (onError)",
        )
    value = _value_of(sample)
    if value is None:
        verdict = _POLICY[gate.on_no_data]
        return MetricResult(
            **base, outcome=MetricOutcome.NO_DATA, verdict=verdict,
            message=f"no data (empty result or NaN; is traffic reaching the canary?); counted "
            f"as {verdict} (onNoData)",
        )
    shown = value if math.isfinite(value) else None
    if gate.min is not None and value < gate.min:
        verdict, message = MetricVerdict.FAIL, f"{_num(value)} is below min {_num(gate.min)}"
    elif gate.max is not None and value > gate.max:
        verdict, message = MetricVerdict.FAIL, f"{_num(value)} is above max {_num(gate.max)}"
    else:
        verdict, message = MetricVerdict.PASS, f"{_num(value)} is within {_bounds(gate)}"
    return MetricResult(
        **base, outcome=MetricOutcome.VALUE, value=shown, verdict=verdict, message=message
    )


def _bounds(gate: MetricGate) -> str:
    low = "-inf" if gate.min is None else _num(gate.min)
    high = "+inf" if gate.max is None else _num(gate.max)
    return f"[{low}, {high}]"


def judge_traffic(
    guard: MinRequests, sample: MetricSample | None, *, now: datetime
) -> MetricResult:
    """The traffic guard passes with at least `count` requests; otherwise it is inconclusive
    (never a failure: too little traffic says nothing about the canary)."""
    base: dict[str, Any] = {"name": TRAFFIC_GUARD, "min": float(guard.count), "time": now}
    if sample is None or sample.outcome is SampleOutcome.ERROR:
        error = "no sample was observed" if sample is None else clip(sample.error, 1000)
        return MetricResult(
            **base, query="" if sample is None else clip(sample.query, QUERY_LIMIT),
            outcome=MetricOutcome.ERROR, verdict=MetricVerdict.INCONCLUSIVE,
            message=f"request count query failed: {error}",
        )
    counted = _value_of(sample)
    requests = 0.0 if counted is None else counted
    outcome = MetricOutcome.NO_DATA if counted is None else MetricOutcome.VALUE
    enough = requests >= guard.count
    return MetricResult(
        **base, query=clip(sample.query, QUERY_LIMIT), outcome=outcome,
        value=requests if math.isfinite(requests) else None,
        verdict=MetricVerdict.PASS if enough else MetricVerdict.INCONCLUSIVE,
        message=f"{_num(requests)} requests to the canary"
        + ("" if enough else f", fewer than minRequests {guard.count}: not judged"),
    )


def run_check(analysis: Analysis | None, observations: Observations, *, now: datetime) -> Check:
    """Judge every gate of `analysis` on the observed samples and combine the verdicts: any
    Fail fails the check; else any Inconclusive (or too little traffic) makes it inconclusive.
    The traffic guard holds threshold gates only: comparisons weigh their own sample counts."""
    if analysis is None:
        return Check(MetricVerdict.PASS, (), None, "no metric gates declared")
    return _judge(analysis, analysis.metrics, observations, now=now, at_check=True)


def run_look(analysis: Analysis, observations: Observations, *, now: datetime) -> Check:
    """Judge the gates looked at between checks (comparisons, and threshold gates with
    `failEarly`): Fail when a comparison shows conclusive harm or an early-failing gate fails,
    else Pass. Inconclusive results at a look count as nothing."""
    gates = tuple(g for g in analysis.metrics if g.sequential)
    check = _judge(analysis, gates, observations, now=now, at_check=False)
    if check.verdict is MetricVerdict.INCONCLUSIVE:
        return Check(MetricVerdict.PASS, check.results, check.request_count, check.summary)
    return check


def _judge(
    analysis: Analysis,
    gates: tuple[MetricGate, ...],
    observations: Observations,
    *,
    now: datetime,
    at_check: bool,
) -> Check:
    samples = {sample.metric: sample for sample in observations.metrics}
    compared = {sample.metric: sample for sample in observations.comparisons}
    alpha = analysis.comparison_alpha()
    thresholds = [g for g in gates if g.compare is None]
    results = {
        g.name: judge_sample(g, samples.get(g.name), now=now) for g in thresholds
    }
    traffic = None
    if analysis.min_requests is not None and (thresholds or not analysis.metrics):
        traffic = judge_traffic(analysis.min_requests, observations.request_count, now=now)
        if traffic.verdict is not MetricVerdict.PASS:
            results = {
                name: r.model_copy(update={
                    "verdict": MetricVerdict.INCONCLUSIVE,
                    "message": clip(f"not judged ({traffic.message}); {r.message}",
                                    MESSAGE_LIMIT),
                })
                for name, r in results.items()
            }
    for gate in gates:
        if gate.compare is not None:
            results[gate.name] = judge_comparison(
                gate, compared.get(gate.name), alpha=alpha, now=now, at_check=at_check
            )
    ordered = tuple(results[g.name] for g in gates)
    harm = tuple(r for r in ordered if is_harm(r))
    failed = [r for r in ordered if r.verdict is MetricVerdict.FAIL]
    unsure = [r for r in ordered if r.verdict is MetricVerdict.INCONCLUSIVE]
    if failed:
        verdict, named = MetricVerdict.FAIL, failed
    elif traffic is not None and traffic.verdict is not MetricVerdict.PASS:
        return Check(MetricVerdict.INCONCLUSIVE, ordered, traffic, traffic.message)
    elif unsure:
        verdict, named = MetricVerdict.INCONCLUSIVE, unsure
    else:
        verdict, named = MetricVerdict.PASS, list(ordered)
    summary = "; ".join(f"{r.name}: {r.message}" for r in named) or "no metric gates declared"
    return Check(verdict, ordered, traffic, summary, harm)
