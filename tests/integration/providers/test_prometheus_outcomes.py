"""The three outcomes against a real Prometheus: value, no data, and errors that say why."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import pytest

from canary.core.observations import MetricSample, SampleOutcome
from canary.providers.base import PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider
from canary.providers.render import render
from canary.sandbox.exporter import Exporter
from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

Eventually = Callable[..., Awaitable[MetricSample]]  # the `eventually` fixture

# Names that break naive escaping: quotes, backslashes, regex metacharacters, newlines, and the
# replacement character Prometheus' lexer mistakes for invalid UTF-8.
AWKWARD_NAMES = [
    'say "hi"',
    "back\\slash",
    "a.b",
    "re+*?()[]{}|^$",
    "two\nlines",
    "tab\tü✓\ufffd",
    "trailing\\",
]


def _is_value(sample: MetricSample) -> bool:
    return sample.outcome is SampleOutcome.VALUE


async def test_a_metric_nobody_exports_is_no_data(provider: PrometheusProvider) -> None:
    sample = await provider.query("gate", "sum(rate(canary_never_exported_total[1m]))")
    assert sample.outcome is SampleOutcome.NO_DATA
    assert (sample.value, sample.error) == (None, "")
    assert sample.query == "sum(rate(canary_never_exported_total[1m]))"


async def test_a_nan_result_is_no_data(provider: PrometheusProvider) -> None:
    sample = await provider.query("gate", "vector(0) / vector(0)")
    assert sample.outcome is SampleOutcome.NO_DATA


async def test_an_infinite_result_is_a_value(provider: PrometheusProvider) -> None:
    sample = await provider.query("gate", "vector(1) / vector(0)")
    assert sample.outcome is SampleOutcome.VALUE
    assert sample.value == math.inf


async def test_a_scalar_result_is_a_value(provider: PrometheusProvider) -> None:
    sample = await provider.query("gate", "scalar(vector(42)) * 2")
    assert (sample.outcome, sample.value) == (SampleOutcome.VALUE, 84.0)


async def test_bad_promql_is_an_error_carrying_prometheus_message(
    provider: PrometheusProvider,
) -> None:
    sample = await provider.query("gate", "sum(rate(x[1m])")
    assert sample.outcome is SampleOutcome.ERROR
    assert "HTTP 400" in sample.error
    assert "bad_data" in sample.error
    assert "parse error" in sample.error


async def test_a_range_vector_is_an_error(provider: PrometheusProvider) -> None:
    sample = await provider.query("gate", "up[10s]")
    assert sample.outcome is SampleOutcome.ERROR
    assert "range vector" in sample.error


async def test_several_series_are_an_error_not_a_silent_pick(
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    for pod, value in (("a", 1.0), ("b", 2.0)):
        exporter.set_gauge(f"{unique}_queue_depth", {"pod": pod}, value)
    total = await eventually(provider, f"sum({unique}_queue_depth)", _is_value)
    assert total.value == 3.0  # both scraped: the aggregated form works

    sample = await provider.query("gate", f"{unique}_queue_depth")
    assert sample.outcome is SampleOutcome.ERROR
    assert "returns 2 series" in sample.error
    assert "{" in sample.error and 'pod="a"' in sample.error
    assert "sum(...)" in sample.error
    assert sample.value is None


async def test_an_unreachable_prometheus_is_an_error_naming_it() -> None:
    address = f"http://{LOOPBACK}:{free_port()}"  # nothing listens here
    async with PrometheusProvider(PrometheusEndpoint(address, timeout=5)) as provider:
        sample = await provider.query("gate", "vector(1)")
    assert sample.outcome is SampleOutcome.ERROR
    assert f"cannot connect to Prometheus at {address}" in sample.error
    assert "Connection refused" in sample.error


async def test_awkward_names_match_exactly_through_equality_and_regex_matchers(
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    metric = f"{unique}_escape_probe"
    for index, name in enumerate(AWKWARD_NAMES):
        exporter.set_gauge(metric, {"name": name}, index)
        # A sibling that a regex with unescaped metacharacters would also match.
        exporter.set_gauge(metric, {"name": name.replace(".", "x").replace("+", "e") + "!"}, -1)
    await eventually(provider, f"count({metric})", lambda s: s.value == 2 * len(AWKWARD_NAMES))

    for index, name in enumerate(AWKWARD_NAMES):
        for matcher in ("=", "=~"):
            query = render(metric + "{name" + matcher + '"{{ canary }}"}', {"canary": name})
            sample = await provider.query("gate", query)
            assert (sample.outcome, sample.value) == (SampleOutcome.VALUE, index), (name, sample)


async def test_a_fractional_timeout_is_passed_in_a_form_prometheus_accepts(
    prometheus: PrometheusServer,
) -> None:
    async with PrometheusProvider(PrometheusEndpoint(prometheus.url, timeout=0.5)) as provider:
        sample = await provider.query("gate", "vector(1)")
    assert (sample.outcome, sample.value) == (SampleOutcome.VALUE, 1.0), sample.error
