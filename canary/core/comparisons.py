"""Judge a comparison gate: the canary's samples against the stable's, through the sequential
test of `canary.core.sequential`, into a `MetricResult` with its evidence.

A conclusive failure ("harm") is what rolls a canary back at once, at a look or at a check; a
result that is not conclusive counts as the gate's `onInconclusive` at the end of a step, and as
nothing at a look. No data and errors count by the gate's policies, as for threshold gates.

Pure: the samples come in as values.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from canary.api.analysis import MetricGate
from canary.api.policy import OutcomePolicy
from canary.api.status import (
    MESSAGE_LIMIT,
    QUERY_LIMIT,
    BackendSamples,
    ComparisonEvidence,
    ComparisonKind,
    MetricOutcome,
    MetricResult,
    MetricVerdict,
)
from canary.core.context import clip
from canary.core.observations import ComparisonSample, SampleOutcome
from canary.core.sequential import (
    Comparison,
    Counts,
    Histogram,
    compare_error_rates_by_step,
    compare_latency_by_step,
)

_POLICY = {
    OutcomePolicy.PASS: MetricVerdict.PASS,
    OutcomePolicy.FAIL: MetricVerdict.FAIL,
    OutcomePolicy.INCONCLUSIVE: MetricVerdict.INCONCLUSIVE,
}


def judge_comparison(
    gate: MetricGate,
    sample: ComparisonSample | None,
    *,
    alpha: float,
    now: datetime,
    at_check: bool,
) -> MetricResult:
    """The gate's result at a check (`at_check`: an inconclusive result counts as the gate's
    `onInconclusive`, no data and errors as `onNoData` and `onError`) or at a look between
    checks (each of those stays Inconclusive: only conclusive harm acts at a look)."""
    assert gate.compare is not None
    base: dict[str, Any] = {"name": gate.name, "time": now}
    if sample is None or sample.outcome is SampleOutcome.ERROR:
        verdict, counted = _policy(gate.on_error, "onError", at_check)
        why = "no sample was observed" if sample is None else clip(sample.error, 1000)
        query = "" if sample is None else clip(sample.query, QUERY_LIMIT)
        return MetricResult(
            **base, query=query, outcome=MetricOutcome.ERROR, verdict=verdict,
            message=f"comparison failed: {why}; {counted}",
        )
    base["query"] = clip(sample.query, QUERY_LIMIT)
    compared = _compare(gate, sample, alpha)
    if compared is None:
        verdict, counted = _policy(gate.on_no_data, "onNoData", at_check)
        return MetricResult(
            **base, outcome=MetricOutcome.NO_DATA, verdict=verdict,
            message=f"no data for the canary or the stable backend since the rollout started "
            f"(is traffic reaching both?); {counted}",
        )
    verdict, message = compared.verdict, compared.summary
    if verdict is MetricVerdict.INCONCLUSIVE and at_check:
        verdict = _POLICY[gate.compare.on_inconclusive]
        if verdict is not MetricVerdict.INCONCLUSIVE:
            message = f"{message}; not conclusive at the step's end: counted as {verdict} " \
                "(onInconclusive)"
    return MetricResult(
        **base, outcome=MetricOutcome.VALUE,
        value=compared.effect if math.isfinite(compared.effect) else None,
        verdict=verdict, message=clip(message, MESSAGE_LIMIT),
        comparison=_evidence(gate, compared, alpha, sample.since),
    )


def _policy(policy: OutcomePolicy, field: str, at_check: bool) -> tuple[MetricVerdict, str]:
    """A no-data or error result counts by its policy at a step's check, as a threshold gate's
    does; at a look between checks it counts as nothing (Inconclusive), or every look would
    count the policy again (a failed check every few seconds while Prometheus has not scraped
    the canary yet, or after one failed query)."""
    verdict = _POLICY[policy]
    if at_check or verdict is MetricVerdict.INCONCLUSIVE:
        return verdict, f"counted as {verdict} ({field})"
    return MetricVerdict.INCONCLUSIVE, (
        f"nothing counted at a look ({field}: {verdict} counts at the step's check)"
    )


def is_harm(result: MetricResult) -> bool:
    """Conclusive evidence that the canary is worse than its tolerance: roll back at once."""
    evidence = result.comparison
    return (
        evidence is not None
        and result.verdict is MetricVerdict.FAIL
        and evidence.lower > evidence.tolerance
    )


def is_pending(result: MetricResult) -> bool:
    """A comparison with data whose evidence is not yet conclusive either way."""
    return (
        result.comparison is not None
        and result.outcome is MetricOutcome.VALUE
        and result.verdict is MetricVerdict.INCONCLUSIVE
    )


def _compare(gate: MetricGate, sample: ComparisonSample, alpha: float) -> Comparison | None:
    compare = gate.compare
    assert compare is not None
    if sample.outcome is not SampleOutcome.VALUE:
        return None
    if compare.error_rate is not None:
        counts = [(c, s) for c, s in sample.steps
                  if isinstance(c, Counts) and isinstance(s, Counts)]
        if not counts:
            return None
        return compare_error_rates_by_step(
            counts, tolerance=compare.error_rate.tolerance, alpha=alpha
        )
    assert compare.latency is not None
    histograms = [(c, s) for c, s in sample.steps
                  if isinstance(c, Histogram) and isinstance(s, Histogram)]
    if not histograms:
        return None
    return compare_latency_by_step(
        histograms, slowdown=compare.latency.slowdown,
        tolerance=compare.latency.tolerance, alpha=alpha,
    )


def _evidence(
    gate: MetricGate, compared: Comparison, alpha: float, since: datetime | None
) -> ComparisonEvidence:
    assert gate.compare is not None
    kind = ComparisonKind.ERROR_RATE if gate.compare.error_rate else ComparisonKind.LATENCY
    return ComparisonEvidence(
        kind=kind,
        effect=_finite(compared.effect),
        lower=_finite(compared.lower),
        upper=_finite(compared.upper),
        tolerance=compared.tolerance,
        log_evidence=_finite(compared.log_evidence),
        threshold=math.log(1 / alpha),
        canary=BackendSamples(
            requests=compared.canary.requests, failures=compared.canary.failures
        ),
        stable=BackendSamples(
            requests=compared.stable.requests, failures=compared.stable.failures
        ),
        boundary=compared.boundary,
        since=since,
    )


def _finite(value: float) -> float:
    """JSON has no infinities or NaN: clamp them to ±1e6 (NaN: 0)."""
    if math.isnan(value):
        return 0.0
    return max(-1e6, min(1e6, value))
