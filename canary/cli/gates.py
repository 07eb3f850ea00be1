"""What `canary check` says about Prometheus and each metric gate's sample right now: it answers,
the value passes, fails, is missing or the query fails — and whether that blocks the rollout; a
comparison gate's queries answer for both backends (or not) and what they count.

Pure: samples in, findings out. No data while the canary gets no traffic is expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from canary.api.analysis import Analysis, MetricGate, MinRequests, OutcomePolicy
from canary.api.resource import Canary
from canary.cli.findings import Finding, Severity
from canary.cli.render import age
from canary.core.observations import ComparisonSample, MetricSample, SampleOutcome
from canary.core.sequential import Counts, Histogram


def probe_finding(address: str, sample: MetricSample) -> Finding:
    if sample.outcome is SampleOutcome.ERROR:
        return Finding(
            Severity.BLOCKER,
            "prometheus",
            f"{address} cannot be queried: {sample.error}",
            "check spec.analysis.prometheus (address, secretRef) or --prometheus; an in-cluster "
            "address is reachable only from the cluster: run check there, or port-forward and "
            "pass --prometheus",
        )
    return Finding(Severity.OK, "prometheus", f"{address} answers queries")


def _within(gate: MetricGate, value: float) -> bool:
    return (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)


def _bounds(gate: MetricGate) -> str:
    parts = [
        f"min {gate.min:g}" if gate.min is not None else "",
        f"max {gate.max:g}" if gate.max is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def _no_data(subject: str, policy: OutcomePolicy, weight: int | None, query: str) -> Finding:
    if policy is OutcomePolicy.PASS:
        return Finding(Severity.WARNING, subject, "returns no data (onNoData: Pass ignores it)")
    hint = (
        f"run the query in Prometheus and check the metric name and labels: {query}; "
        "a quiet canary needs analysis.minRequests or onNoData"
    )
    if weight == 0:
        return Finding(
            Severity.WARNING,
            subject,
            "returns no data, as expected while the "
            "canary receives no traffic (0 %); it must return data once it does",
            hint,
        )
    return Finding(
        Severity.BLOCKER,
        subject,
        "returns no data although the canary receives "
        "traffic: its checks will be inconclusive, then fail",
        hint,
    )


def _error(subject: str, policy: OutcomePolicy, sample: MetricSample) -> Finding:
    severity = Severity.WARNING if policy is OutcomePolicy.PASS else Severity.BLOCKER
    return Finding(
        severity,
        subject,
        f"the query fails: {sample.error}",
        f"fix the query (run it in Prometheus to see why): {sample.query}",
    )


def gate_finding(gate: MetricGate, sample: MetricSample, weight: int | None) -> Finding:
    subject = f"metric {gate.name}"
    if sample.outcome is SampleOutcome.ERROR:
        return _error(subject, gate.on_error, sample)
    if sample.outcome is SampleOutcome.NO_DATA or sample.value is None:
        return _no_data(subject, gate.on_no_data, weight, sample.query)
    if _within(gate, sample.value):
        return Finding(Severity.OK, subject, f"{sample.value:g} ({_bounds(gate)}): passes now")
    return Finding(
        Severity.WARNING,
        subject,
        f"{sample.value:g} is outside {_bounds(gate)}: a check now would fail",
        "fine before the canary has traffic; otherwise look at the canary or the threshold",
    )


def guard_finding(guard: MinRequests, sample: MetricSample, weight: int | None) -> Finding:
    subject = "minRequests"
    if sample.outcome is SampleOutcome.ERROR:
        return _error(subject, OutcomePolicy.INCONCLUSIVE, sample)
    if sample.outcome is SampleOutcome.NO_DATA or sample.value is None:
        return _no_data(subject, OutcomePolicy.INCONCLUSIVE, weight, sample.query)
    if sample.value < guard.count:
        return Finding(
            Severity.WARNING,
            subject,
            f"{sample.value:g} requests in the window, "
            f"fewer than {guard.count}: checks stay inconclusive until there are more",
        )
    return Finding(Severity.OK, subject, f"{sample.value:g} requests in the window")


def comparison_window(canary: Canary, now: datetime) -> tuple[list[datetime], str]:
    """The step windows `check` runs a Canary's comparisons over (when each began), and their
    words: the rollout's steps (the operator's own windows) while one is under way, else the
    last step interval."""
    status = canary.status
    if status.phase.active and status.started_at is not None and status.started_at < now:
        steps = list(status.step_starts) or [status.started_at]
        return steps, f"since the rollout started {age(status.started_at, now)} ago"
    interval = canary.spec.steps.interval_length
    return [now - interval], f"over the last {interval.total_seconds():g}s (a step interval)"


def _counted(samples: Sequence[Counts | Histogram]) -> tuple[float, float | None]:
    """Requests, and failed requests (None for histograms), over every step."""
    requests, failures = 0.0, 0.0
    for sample in samples:
        if isinstance(sample, Counts):
            requests, failures = requests + sample.requests, failures + sample.failures
        elif sample.buckets:
            requests += sample.buckets[-1][1]
    histograms = bool(samples) and all(isinstance(s, Histogram) for s in samples)
    return requests, None if histograms or not samples else failures


def _side(name: str, samples: Sequence[Counts | Histogram]) -> str:
    requests, failures = _counted(samples)
    if failures is None:
        return f"{name} {requests:,.0f} requests"
    return f"{name} {failures:,.0f} of {requests:,.0f} requests failed"


def comparison_finding(
    gate: MetricGate, sample: ComparisonSample, weight: int | None, window: str
) -> Finding:
    """Whether a comparison's queries answer for both backends over `window`, and what they
    count; the verdict is the operator's, at every look (`canary get -o wide` shows it)."""
    subject = f"metric {gate.name}"
    hint = (
        "run the canary's queries in Prometheus (the stable's differ in the Service only): "
        f"{sample.query}"
    )
    if sample.outcome is SampleOutcome.ERROR:
        severity = Severity.WARNING if gate.on_error is OutcomePolicy.PASS else Severity.BLOCKER
        fix = f"fix the queries ({hint})" if sample.query else "fix the comparison's queries"
        return Finding(severity, subject, f"the comparison's queries fail: {sample.error}", fix)
    if sample.outcome is SampleOutcome.NO_DATA:
        if gate.on_no_data is OutcomePolicy.PASS:
            return Finding(
                Severity.WARNING, subject, f"no data {window} (onNoData: Pass ignores it)"
            )
        hint += "; inline queries must return 0 rather than nothing (`... or vector(0)`)"
        if weight == 0:
            return Finding(
                Severity.WARNING,
                subject,
                f"no data for the canary or the stable backend {window}, as expected while the "
                "canary receives no traffic (0 %); both must return data once it does",
                hint,
            )
        return Finding(
            Severity.BLOCKER,
            subject,
            f"no data for the canary or the stable backend {window} although the canary "
            "receives traffic: its looks and checks will be inconclusive, then fail",
            hint,
        )
    canaries = [canary for canary, _ in sample.steps]
    stables = [stable for _, stable in sample.steps]
    histograms = any(isinstance(c, Histogram) for c in canaries)
    kind = "latency histograms" if histograms else "error counts"
    return Finding(
        Severity.OK,
        subject,
        f"{kind} answer for both backends {window}: {_side('canary', canaries)}, "
        f"{_side('stable', stables)}; judged at every look (see `canary get -o wide`)",
    )


def metric_findings(
    analysis: Analysis,
    samples: Sequence[MetricSample],
    guard: MetricSample | None,
    *,
    canary_weight: int | None,
    comparisons: Sequence[ComparisonSample] = (),
    window: str = "",
) -> list[Finding]:
    """Findings on every threshold gate (`samples`, in spec order), every comparison gate
    (`comparisons`, over `window`) and the traffic guard, in the spec's order of gates."""
    thresholds = iter(zip(
        [g for g in analysis.metrics if g.compare is None], samples, strict=True
    ))
    compared = iter(zip(analysis.comparisons, comparisons, strict=True))
    found = []
    for gate in analysis.metrics:
        if gate.compare is None:
            g, sample = next(thresholds)
            found.append(gate_finding(g, sample, canary_weight))
        elif comparisons:
            g, pair = next(compared)
            found.append(comparison_finding(g, pair, canary_weight, window))
    if analysis.min_requests is not None and guard is not None:
        found.append(guard_finding(analysis.min_requests, guard, canary_weight))
    return found
