"""The sampler's comparison queries: one window per rollout step, evaluated at the step's end,
the stable's from the same text with the stable's labels, finished windows asked once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from canary.api.analysis import Analysis
from canary.api.spec import CanarySpec
from canary.core.observations import MetricSample, SampleOutcome
from canary.core.sequential import Counts
from canary.providers.base import MetricProvider
from canary.providers.sampler import GateSampler, step_windows

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Recorded:
    """Answers request and error counts by backend (`v1` stable, `v2` canary) and records every
    query with its evaluation time."""

    def __init__(self, *, silent: str = "", failing: str = "") -> None:
        self.asked: list[tuple[str, float | None]] = []
        self.silent, self.failing = silent, failing

    async def query(self, metric: str, promql: str, *, at: float | None = None) -> MetricSample:
        self.asked.append((promql, at))
        if self.failing and self.failing in promql:
            return MetricSample.failed(metric, "connection refused", query=promql)
        if self.silent and self.silent in promql:
            return MetricSample.no_data(metric, query=promql)
        requests = 1000.0 if "api-svc-v1" in promql else 100.0
        value = requests / 10 if "_xx" in promql and 'class="5"' in promql else requests
        return MetricSample.of(metric, value, query=promql)

    async def buckets(
        self, promql: str, *, at: float | None = None
    ) -> tuple[tuple[tuple[float, float], ...], str]:
        raise AssertionError("no latency comparison here")

    async def aclose(self) -> None:
        pass


class Sampler(GateSampler):
    def __init__(self, provider: Recorded) -> None:
        super().__init__(secrets=None, default_address="http://127.0.0.1:9")  # type: ignore[arg-type]
        self.fake = provider

    async def _provider(self, namespace: str, analysis: Analysis) -> MetricProvider:
        return self.fake


SPEC = CanarySpec.model_validate({
    "routeRef": {"name": "api-route"},
    "stable": {"name": "api-svc-v1", "port": 8080},
    "canary": {"name": "api-svc-v2", "port": 8080},
    "steps": {"weights": [10, 50], "interval": "1m"},
    "analysis": {"metrics": [{"name": "errors", "compare": {"errorRate": {"template": "envoy"}}}]},
})


def test_each_step_is_a_window_up_to_the_next_and_the_last_up_to_now() -> None:
    steps = [T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=60)]
    windows = step_windows(steps, T0 + timedelta(seconds=90))
    assert windows == [(T0, T0 + timedelta(seconds=60)),
                       (T0 + timedelta(seconds=60), T0 + timedelta(seconds=90))]
    assert step_windows([], T0) == []


async def test_each_step_is_queried_for_both_backends_at_its_end() -> None:
    provider = Recorded()
    now = T0 + timedelta(seconds=90)
    (sample,) = await Sampler(provider).compare(
        "team", "api", SPEC, steps=[T0, T0 + timedelta(seconds=60)], now=now)
    assert sample.outcome is SampleOutcome.VALUE
    assert sample.since == T0
    assert len(sample.steps) == 2
    canary, stable = sample.steps[0]
    assert canary == Counts(100.0, 10.0) and stable == Counts(1000.0, 100.0)
    first = [(q, at) for q, at in provider.asked if "[60s]" in q]
    last = [(q, at) for q, at in provider.asked if "[30s]" in q]
    assert len(first) == len(last) == 4  # requests and errors of each backend
    assert {at for _, at in first} == {(T0 + timedelta(seconds=60)).timestamp()}
    assert {at for _, at in last} == {None}  # the current step: evaluated now
    stable_queries = [q for q, _ in first if "api-svc-v1" in q]
    canary_queries = [q for q, _ in first if "api-svc-v2" in q]
    assert [q.replace("api-svc-v1", "api-svc-v2") for q in stable_queries] == canary_queries


async def test_a_finished_step_is_asked_once_the_current_one_at_every_look() -> None:
    provider = Recorded()
    running = Sampler(provider)
    steps = [T0, T0 + timedelta(seconds=60)]
    for seconds in (200, 205, 210):
        await running.compare("team", "api", SPEC, steps=steps, now=T0 + timedelta(seconds=seconds))
    first = [q for q, _ in provider.asked if "[60s]" in q]
    assert len(first) == 4


async def test_a_step_without_data_on_one_side_is_left_out() -> None:
    provider = Recorded(silent="api-svc-v2")
    (sample,) = await Sampler(provider).compare(
        "team", "api", SPEC, steps=[T0], now=T0 + timedelta(seconds=30))
    assert sample.outcome is SampleOutcome.NO_DATA and sample.steps == ()


async def test_a_failed_query_is_an_error_with_its_reason() -> None:
    provider = Recorded(failing="api-svc-v1")
    (sample,) = await Sampler(provider).compare(
        "team", "api", SPEC, steps=[T0], now=T0 + timedelta(seconds=30))
    assert sample.outcome is SampleOutcome.ERROR
    assert "connection refused" in sample.error


async def test_no_step_yet_is_no_data() -> None:
    (sample,) = await Sampler(Recorded()).compare("team", "api", SPEC, steps=[], now=T0)
    assert sample.outcome is SampleOutcome.NO_DATA
