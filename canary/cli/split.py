"""The traffic split observed at the data plane, for `watch`: the request rate of each backend
from Prometheus (by default Envoy's per-cluster counters, over a window that fits the step).

Envoy names a backend's cluster `namespace/service/port` in our sandbox and
`namespace_service_port` in Contour's Prometheus label, so the default query matches both. It
counts `upstream_rq_xx` (every answer by code class, connection failures included), which
Contour's Envoy exports for every cluster, unlike a per-route series.

Reuses the metric provider; the math from two samples to a split is the pure `split_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from canary.api.spec import CanarySpec
from canary.core.observations import MetricSample, SampleOutcome
from canary.providers.base import MetricProvider, PrometheusEndpoint
from canary.providers.queries import prometheus_duration
from canary.providers.registry import create_provider
from canary.providers.render import TemplateError, render

DEFAULT_SPLIT_QUERY = (
    "sum(rate(envoy_cluster_upstream_rq_xx"
    '{envoy_cluster_name=~"{{ namespace }}[/_]{{ service }}[/_]{{ port }}"}[{{ interval }}]))'
)
MIN_WINDOW = timedelta(seconds=30)
"""A rate needs a few scrapes: shorter steps are observed over this window."""


def window(spec: CanarySpec) -> str:
    """The rate window: the step interval, but never under `MIN_WINDOW`."""
    return prometheus_duration(max(spec.steps.interval_length, MIN_WINDOW))


@dataclass(frozen=True)
class Split:
    """What the data plane saw; `configured` False means no source was given."""

    configured: bool
    canary_percent: float | None = None
    stable_rate: float | None = None
    canary_rate: float | None = None
    note: str = ""


def _rate(sample: MetricSample) -> float | None:
    if sample.outcome is SampleOutcome.VALUE and sample.value is not None:
        return sample.value
    return 0.0 if sample.outcome is SampleOutcome.NO_DATA else None


def split_of(stable: MetricSample, canary: MetricSample) -> Split:
    """The canary's share of the requests both backends received."""
    for sample in (stable, canary):
        if sample.outcome is SampleOutcome.ERROR:
            return Split(True, note=f"query failed: {sample.error}")
    stable_rate, canary_rate = _rate(stable), _rate(canary)
    if not stable_rate and not canary_rate:
        return Split(True, stable_rate=0.0, canary_rate=0.0, note="no traffic seen")
    total = (stable_rate or 0.0) + (canary_rate or 0.0)
    return Split(True, 100 * (canary_rate or 0.0) / total, stable_rate, canary_rate)


class SplitSource:
    """Queries one Prometheus for the request rate of the stable and the canary backend."""

    def __init__(self, address: str, query: str = DEFAULT_SPLIT_QUERY) -> None:
        self._query = query
        self._provider: MetricProvider = create_provider(
            "prometheus", PrometheusEndpoint(address=address, timeout=5.0)
        )

    async def observe(self, namespace: str, spec: CanarySpec) -> Split:
        samples: list[MetricSample] = []
        for role, backend in (("stable", spec.stable), ("canary", spec.canary)):
            variables = {
                "namespace": namespace, "service": backend.name, "port": str(backend.port),
                "interval": window(spec),
            }
            try:
                promql = render(self._query, variables)
            except TemplateError as exc:
                return Split(True, note=f"--split-query cannot be rendered: {exc}")
            samples.append(await self._provider.query(role, promql))
        return split_of(samples[0], samples[1])

    async def aclose(self) -> None:
        await self._provider.aclose()
