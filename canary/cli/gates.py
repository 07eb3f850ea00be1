"""What `canary check` says about Prometheus and each metric gate's sample right now: it answers,
the value passes, fails, is missing or the query fails — and whether that blocks the rollout.

Pure: samples in, findings out. No data while the canary gets no traffic is expected.
"""

from __future__ import annotations

from collections.abc import Sequence

from canary.api.analysis import Analysis, MetricGate, MinRequests, OutcomePolicy
from canary.cli.findings import Finding, Severity
from canary.core.observations import MetricSample, SampleOutcome


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


def metric_findings(
    analysis: Analysis,
    samples: Sequence[MetricSample],
    guard: MetricSample | None,
    *,
    canary_weight: int | None,
) -> list[Finding]:
    found = [
        gate_finding(g, s, canary_weight) for g, s in zip(analysis.metrics, samples, strict=True)
    ]
    if analysis.min_requests is not None and guard is not None:
        found.append(guard_finding(analysis.min_requests, guard, canary_weight))
    return found
