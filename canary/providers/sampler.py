"""Sample a Canary's metric gates: resolve its Prometheus settings (and Secret, read live: the
one API read of a reconcile that is not a write), render each gate's query with the Canary's
variables, and run them concurrently.

Produces `MetricSample`s only; judging them is `canary.core`'s job. One provider (connection
pool) is kept per distinct Prometheus configuration and closed on shutdown.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

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
# A step's window that ended this long ago is final in Prometheus (scraped, and past the
# lookback of `increase`): its counts are kept instead of asked again at every look.
SETTLED = timedelta(seconds=60)
MAX_SETTLED = 20_000


@runtime_checkable
class HasConfig(Protocol):
    @property
    def config(self) -> PrometheusEndpoint: ...


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
        self._settled: OrderedDict[
            tuple[object, tuple[tuple[str, str], ...], datetime | None],
            Counts | Histogram | None,
        ] = OrderedDict()

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
        steps: Sequence[datetime],
        now: datetime,
    ) -> tuple[ComparisonSample, ...]:
        """Every comparison gate's samples of both backends, step by step: one window per step
        of the rollout (`steps`: when each began, oldest first), the last one up to `now`.
        No step yet is no data."""
        analysis = spec.analysis
        gates = () if analysis is None else analysis.comparisons
        if not gates:
            return ()
        assert analysis is not None
        since = steps[0] if steps else None
        windows = step_windows(steps, now)
        if not windows:
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
        return tuple(await asyncio.gather(*(
            self._compare(provider, gate, spec, namespace, name, windows, now) for gate in gates
        )))

    async def _compare(
        self,
        provider: MetricProvider,
        gate: MetricGate,
        spec: CanarySpec,
        namespace: str,
        name: str,
        windows: list[tuple[datetime, datetime]],
        now: datetime,
    ) -> ComparisonSample:
        """One comparison gate: both backends, every window, each query run concurrently."""
        since = windows[0][0]
        try:
            rendered = [
                {side: render_comparison(gate, spec, namespace=namespace, name=name,
                                         window=end - start, side=side) for side in Side}
                for start, end in windows
            ]
        except (TemplateError, KeyError) as exc:
            return ComparisonSample(gate.name, SampleOutcome.ERROR, since=since,
                                    error=f"query cannot be rendered: {exc}")
        shown = "; ".join(f"{part}: {q}" for part, q in rendered[-1][Side.CANARY].items())
        settled = now - SETTLED
        runs = [
            self._side(provider, queries[side], at=None if end >= now else end,
                       settled=end <= settled)
            for queries, (_, end) in zip(rendered, windows, strict=True)
            for side in Side
        ]
        answers = await asyncio.gather(*runs)
        failures = [failure for _, failure in answers if failure]
        if failures:
            return ComparisonSample(gate.name, SampleOutcome.ERROR, since=since, query=shown,
                                    error=failures[0])
        pairs = [(answers[i][0], answers[i + 1][0]) for i in range(0, len(answers), 2)]
        steps = tuple(
            (canary, stable) for canary, stable in pairs
            if canary is not None and stable is not None and type(canary) is type(stable)
        )
        outcome = SampleOutcome.VALUE if steps else SampleOutcome.NO_DATA
        return ComparisonSample(
            gate.name, outcome, steps=steps,  # type: ignore[arg-type]
            since=since, query=shown,
        )

    async def _side(
        self, provider: MetricProvider, queries: dict[str, str], *, at: datetime | None,
        settled: bool,
    ) -> tuple[Counts | Histogram | None, str]:
        """One backend's sample in one window (None: no data) and "" — or None and why a
        query failed. A window that ended more than `SETTLED` ago no longer changes: its
        answer is kept (per provider and query) and not asked again."""
        key = (provider.config if isinstance(provider, HasConfig) else None,
               tuple(sorted(queries.items())), at)
        if settled and key in self._settled:
            self._settled.move_to_end(key)
            return self._settled[key], ""
        value, failure = await _side(provider, queries, None if at is None else at.timestamp())
        if settled and not failure:
            self._settled[key] = value
            while len(self._settled) > MAX_SETTLED:
                self._settled.popitem(last=False)
        return value, failure

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


def step_windows(steps: Sequence[datetime], now: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) of each step's window: from its start to the next step's, the last to
    `now`; empty windows (a clock that went backwards, two steps in one second) left out."""
    ends = [*steps[1:], now]
    return [(start, end) for start, end in zip(steps, ends, strict=False) if end > start]


async def _side(
    provider: MetricProvider, queries: dict[str, str], at: float | None
) -> tuple[Counts | Histogram | None, str]:
    """One backend's sample (None: no data) and "" — or None and why a query failed."""
    if "buckets" in queries:
        buckets, failure = await provider.buckets(queries["buckets"], at=at)
        if failure:
            return None, failure
        return (Histogram(buckets) if buckets else None), ""
    requests, errors = await asyncio.gather(
        provider.query("requests", queries["requests"], at=at),
        provider.query("errors", queries["errors"], at=at),
    )
    for sample in (requests, errors):
        if sample.outcome is SampleOutcome.ERROR:
            return None, f"{sample.metric} query failed: {sample.error}"
    if requests.value is None or requests.outcome is SampleOutcome.NO_DATA:
        return None, ""
    failed = 0.0 if errors.value is None else errors.value
    return Counts(requests=requests.value, failures=failed), ""
