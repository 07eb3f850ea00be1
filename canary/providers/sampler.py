"""Sample a Canary's metric gates: resolve its Prometheus settings (and Secret, read live: the
one API read of a reconcile that is not a write), render each gate's query with the Canary's
variables, and run them concurrently.

Produces `MetricSample`s only; judging them is `canary.core`'s job. One provider (connection
pool) is kept per distinct Prometheus configuration and closed on shutdown.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from canary.api.analysis import Analysis, MetricGate, MinRequests, PrometheusConfig
from canary.api.duration import parse_duration
from canary.api.spec import CanarySpec
from canary.core.observations import ComparisonSample, MetricSample, SampleOutcome
from canary.core.sequential import Counts, Histogram
from canary.kube.errors import KubeError
from canary.kube.resources import SECRET, JsonObj, Resource
from canary.providers.auth import SecretAuthError, auth_from_secret_data
from canary.providers.base import MetricProvider, PrometheusEndpoint
from canary.providers.queries import Side, render_comparison, render_gate
from canary.providers.registry import create_provider
from canary.providers.render import TemplateError

GUARD_NAME = "minRequests"
MAX_PROVIDERS = 64


class SecretReader(Protocol):
    """The one read the sampler makes: a gate's Secret (`canary.kube.Kube` is one)."""

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None: ...


class ConfigError(Exception):
    """The Canary's Prometheus settings cannot be used (bad Secret, bad address)."""


class GateSampler:
    """Runs the queries of a Canary's analysis against its Prometheus.

    `secrets` reads a gate's Secret (live: Secrets are not cached); `default_address` is the
    Prometheus used when a Canary names none.
    """

    def __init__(self, secrets: SecretReader, default_address: str) -> None:
        self._secrets = secrets
        self._default_address = default_address
        self._providers: OrderedDict[PrometheusEndpoint, MetricProvider] = OrderedDict()

    async def sample(
        self,
        namespace: str,
        name: str,
        spec: CanarySpec,
        *,
        only: Collection[str] | None = None,
    ) -> tuple[tuple[MetricSample, ...], MetricSample | None]:
        """Every threshold gate's sample (only those named in `only`, when given), and the
        traffic guard's (None when not configured, or when `only` names no threshold gate).
        Comparison gates are sampled by `compare`."""
        analysis = spec.analysis
        if analysis is None:
            return (), None
        queries: list[tuple[str, MetricGate | MinRequests]] = [
            (gate.name, gate) for gate in analysis.metrics
            if gate.compare is None and (only is None or gate.name in only)
        ]
        if analysis.min_requests is not None and (queries or not analysis.metrics):
            queries.append((GUARD_NAME, analysis.min_requests))
        if not queries:
            return (), None
        try:
            provider = await self._provider(namespace, analysis)
        except ConfigError as exc:
            failed = [MetricSample.failed(label, str(exc)) for label, _ in queries]
            return _split(failed, analysis)
        samples = await asyncio.gather(
            *(self._run(provider, label, gate, spec, namespace, name) for label, gate in queries)
        )
        return _split(list(samples), analysis, guarded=queries[-1][0] == GUARD_NAME)

    async def compare(
        self,
        namespace: str,
        name: str,
        spec: CanarySpec,
        *,
        since: datetime | None,
        now: datetime,
    ) -> tuple[ComparisonSample, ...]:
        """Every comparison gate's samples of both backends over the same window: from `since`
        (the rollout's start) to `now`. No window yet (no rollout started) is no data."""
        analysis = spec.analysis
        gates = () if analysis is None else analysis.comparisons
        if not gates:
            return ()
        assert analysis is not None
        if since is None or now <= since:
            return tuple(
                ComparisonSample(g.name, SampleOutcome.NO_DATA, since=since) for g in gates
            )
        try:
            provider = await self._provider(namespace, analysis)
        except ConfigError as exc:
            return tuple(
                ComparisonSample(g.name, SampleOutcome.ERROR, since=since, error=str(exc))
                for g in gates
            )
        window = now - since
        return tuple(await asyncio.gather(*(
            _compare(provider, gate, spec, namespace, name, since, window) for gate in gates
        )))

    async def _run(
        self,
        provider: MetricProvider,
        label: str,
        gate: MetricGate | MinRequests,
        spec: CanarySpec,
        namespace: str,
        name: str,
    ) -> MetricSample:
        try:
            promql = render_gate(gate, spec, namespace=namespace, name=name)
        except (TemplateError, KeyError) as exc:
            return MetricSample.failed(label, f"query cannot be rendered: {exc}")
        return await provider.query(label, promql)

    async def provider_for(self, namespace: str, analysis: Analysis) -> MetricProvider:
        """The provider (pooled, owned by this sampler) that runs `analysis`'s queries, for a
        caller's own diagnostic queries. Raises `ConfigError` as sampling would report it."""
        return await self._provider(namespace, analysis)

    async def _provider(self, namespace: str, analysis: Analysis) -> MetricProvider:
        config = await self._config(namespace, analysis.prometheus)
        provider = self._providers.get(config)
        if provider is None:
            provider = create_provider("prometheus", config)
            self._providers[config] = provider
            while len(self._providers) > MAX_PROVIDERS:
                _, oldest = self._providers.popitem(last=False)
                await oldest.aclose()
        self._providers.move_to_end(config)
        return provider

    async def _config(self, namespace: str, spec: PrometheusConfig) -> PrometheusEndpoint:
        try:
            config = PrometheusEndpoint(
                address=spec.address or self._default_address,
                timeout=parse_duration(spec.timeout).total_seconds(),
                verify_tls=not spec.insecure_skip_verify,
            )
        except ValueError as exc:
            raise ConfigError(f"prometheus settings: {exc}") from exc
        if spec.secret_ref is None:
            return config
        secret_name = spec.secret_ref.name
        try:
            secret = await self._secrets.get_or_none(SECRET, secret_name, namespace)
        except KubeError as exc:
            raise ConfigError(f"cannot read Secret {namespace}/{secret_name}: {exc}") from exc
        if secret is None:
            raise ConfigError(
                f"Secret {namespace}/{secret_name} (prometheus.secretRef) does not exist"
            )
        try:
            return auth_from_secret_data(secret.get("data") or {}).apply(config)
        except (SecretAuthError, ValueError) as exc:
            raise ConfigError(f"Secret {namespace}/{secret_name}: {exc}") from exc

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), OrderedDict()
        for provider in providers:
            await provider.aclose()


def _split(
    samples: list[MetricSample],
    analysis: Analysis,
    *,
    guarded: bool | None = None,
) -> tuple[tuple[MetricSample, ...], MetricSample | None]:
    if not (analysis.min_requests is not None if guarded is None else guarded):
        return tuple(samples), None
    return tuple(samples[:-1]), samples[-1]


async def _compare(
    provider: MetricProvider,
    gate: MetricGate,
    spec: CanarySpec,
    namespace: str,
    name: str,
    since: datetime,
    window: timedelta,
) -> ComparisonSample:
    """Both backends' samples of one comparison gate, each part run concurrently."""
    try:
        rendered = {
            side: render_comparison(
                gate, spec, namespace=namespace, name=name, window=window, side=side
            )
            for side in Side
        }
    except (TemplateError, KeyError) as exc:
        return ComparisonSample(
            gate.name, SampleOutcome.ERROR, since=since, error=f"query cannot be rendered: {exc}"
        )
    shown = "; ".join(f"{part}: {q}" for part, q in rendered[Side.CANARY].items())
    sides = await asyncio.gather(*(_side(provider, rendered[side]) for side in Side))
    failures = [failure for _, failure in sides if failure]
    if failures:
        return ComparisonSample(
            gate.name, SampleOutcome.ERROR, since=since, query=shown, error=failures[0]
        )
    canary, stable = (value for value, _ in sides)
    if canary is None or stable is None:
        return ComparisonSample(gate.name, SampleOutcome.NO_DATA, since=since, query=shown)
    return ComparisonSample(
        gate.name, SampleOutcome.VALUE, canary=canary, stable=stable, since=since, query=shown
    )


async def _side(
    provider: MetricProvider, queries: dict[str, str]
) -> tuple[Counts | Histogram | None, str]:
    """One backend's sample (None: no data) and "" — or None and why a query failed."""
    if "buckets" in queries:
        buckets, failure = await provider.buckets(queries["buckets"])
        if failure:
            return None, failure
        return (Histogram(buckets) if buckets else None), ""
    requests, errors = await asyncio.gather(
        provider.query("requests", queries["requests"]),
        provider.query("errors", queries["errors"]),
    )
    for sample in (requests, errors):
        if sample.outcome is SampleOutcome.ERROR:
            return None, f"{sample.metric} query failed: {sample.error}"
    if requests.value is None or requests.outcome is SampleOutcome.NO_DATA:
        return None, ""
    failed = 0.0 if errors.value is None else errors.value
    return Counts(requests=requests.value, failures=failed), ""
