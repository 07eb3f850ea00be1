"""Every built-in template, run by a real Prometheus over traffic the exporter served."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from harness.values import query_variables

from canary.api.templates import BuiltinTemplate
from canary.core.observations import MetricSample, SampleOutcome
from canary.providers.prometheus import PrometheusProvider
from canary.providers.render import render
from canary.providers.templates import BUILTIN_QUERIES
from canary.providers.variables import QueryVariables
from canary.sandbox.exporter import Exporter, Traffic

pytestmark = pytest.mark.integration

# All requests at 42 ms land in the (25, 50] ms bucket of every family, so the p99 that
# histogram_quantile interpolates is 25 + 0.99 * 25.
P99_AT_42MS = 49.75
WINDOW, WINDOW_SECONDS = "5s", 5  # five 1s scrapes
Eventually = Callable[..., Awaitable[MetricSample]]  # the `eventually` fixture


@dataclass(frozen=True)
class Family:
    success_rate: BuiltinTemplate
    latency_p99: BuiltinTemplate
    request_count: BuiltinTemplate
    serve: Callable[[Exporter, QueryVariables, str, Traffic], None]  # (…, service, traffic)


def _envoy(exporter: Exporter, v: QueryVariables, service: str, traffic: Traffic) -> None:
    port = v.canary_port if service == v.canary_service else v.stable_port
    exporter.envoy_cluster(f"{v.namespace}/{service}/{port}", traffic)


def _contour(exporter: Exporter, v: QueryVariables, service: str, traffic: Traffic) -> None:
    port = v.canary_port if service == v.canary_service else v.stable_port
    exporter.envoy_cluster(f"{v.namespace}_{service}_{port}", traffic)  # Contour's stat name


def _istio(exporter: Exporter, v: QueryVariables, service: str, traffic: Traffic) -> None:
    exporter.istio_service(v.namespace, service, traffic)
    # What the calling gateway reported: other numbers, which the template must ignore.
    exporter.istio_service(
        v.namespace, service, Traffic(rps=7, error_ratio=0.5, latency_ms=900), reporter="source"
    )


def _app(exporter: Exporter, v: QueryVariables, service: str, traffic: Traffic) -> None:
    exporter.app_service(v.namespace, service, traffic)


FAMILIES = {
    "envoy": Family(
        BuiltinTemplate.ENVOY_SUCCESS_RATE,
        BuiltinTemplate.ENVOY_LATENCY_P99,
        BuiltinTemplate.ENVOY_REQUEST_COUNT,
        _envoy,
    ),
    "contour": Family(
        BuiltinTemplate.CONTOUR_SUCCESS_RATE,
        BuiltinTemplate.CONTOUR_LATENCY_P99,
        BuiltinTemplate.CONTOUR_REQUEST_COUNT,
        _contour,
    ),
    "envoy-on-contour": Family(
        BuiltinTemplate.ENVOY_SUCCESS_RATE,
        BuiltinTemplate.ENVOY_LATENCY_P99,
        BuiltinTemplate.ENVOY_REQUEST_COUNT,
        _contour,
    ),
    "istio": Family(
        BuiltinTemplate.ISTIO_SUCCESS_RATE,
        BuiltinTemplate.ISTIO_LATENCY_P99,
        BuiltinTemplate.ISTIO_REQUEST_COUNT,
        _istio,
    ),
    "app": Family(
        BuiltinTemplate.APP_SUCCESS_RATE,
        BuiltinTemplate.APP_LATENCY_P99,
        BuiltinTemplate.APP_REQUEST_COUNT,
        _app,
    ),
}


def _variables(unique: str) -> QueryVariables:
    return query_variables(namespace=unique, route="web", canary_port=8081, interval=WINDOW)


def _query(template: BuiltinTemplate, variables: QueryVariables) -> str:
    return render(BUILTIN_QUERIES[template], variables.as_mapping())


def _is_value(expected: float, *, rel: float) -> Callable[[MetricSample], bool]:
    def check(sample: MetricSample) -> bool:
        return (
            sample.outcome is SampleOutcome.VALUE
            and sample.value is not None
            and math.isclose(sample.value, expected, rel_tol=rel)
        )

    return check


@dataclass(frozen=True)
class Probe:
    """One family's templates over traffic served under a namespace no other test uses."""

    family: Family
    exporter: Exporter
    provider: PrometheusProvider
    eventually: Eventually
    variables: QueryVariables

    def serve(self, service: str, traffic: Traffic) -> None:
        self.family.serve(self.exporter, self.variables, service, traffic)

    def serve_canary(self, traffic: Traffic) -> None:
        self.serve(self.variables.canary_service, traffic)

    def query(self, template: BuiltinTemplate) -> str:
        return _query(template, self.variables)

    async def until(
        self, template: BuiltinTemplate, check: Callable[[MetricSample], bool]
    ) -> MetricSample:
        """The first sample of `template` that passes `check` (the provider polled)."""
        return await self.eventually(self.provider, self.query(template), check)

    async def once(self, template: BuiltinTemplate) -> MetricSample:
        return await self.provider.query("gate", self.query(template))


@pytest.fixture(params=list(FAMILIES.values()), ids=list(FAMILIES))
def probe(
    request: pytest.FixtureRequest,
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> Probe:
    return Probe(request.param, exporter, provider, eventually, _variables(unique))


def _is_a_value(sample: MetricSample) -> bool:
    return sample.outcome is SampleOutcome.VALUE


async def test_each_family_measures_the_canary_backend_as_served(probe: Probe) -> None:
    family = probe.family
    probe.serve_canary(Traffic(rps=200, error_ratio=0.05, latency_ms=42))
    probe.serve(probe.variables.stable_service, Traffic(rps=50, error_ratio=0.5, latency_ms=300))

    success = await probe.until(family.success_rate, _is_value(95.0, rel=1e-9))
    latency = await probe.until(family.latency_p99, _is_value(P99_AT_42MS, rel=1e-9))
    count = await probe.until(family.request_count, _is_value(200 * WINDOW_SECONDS, rel=0.1))

    assert success.value == pytest.approx(95.0)
    assert latency.value == pytest.approx(P99_AT_42MS)
    assert count.value == pytest.approx(1000, rel=0.1)


async def test_a_canary_that_never_failed_is_at_100_percent_though_no_error_series_exists(
    probe: Probe,
) -> None:
    probe.serve_canary(Traffic(rps=20))
    served = [
        line for line in probe.exporter.render().splitlines() if probe.variables.namespace in line
    ]
    assert served
    errors = re.compile(r'(code|code_class)="5')
    assert not [line for line in served if errors.search(line) and "source" not in line]
    sample = await probe.until(probe.family.success_rate, _is_a_value)
    assert sample.value == pytest.approx(100.0)


async def test_a_canary_answering_only_errors_is_at_0_percent_not_no_data(probe: Probe) -> None:
    probe.serve_canary(Traffic(rps=20, error_ratio=1))
    sample = await probe.until(probe.family.success_rate, _is_a_value)
    assert sample.value == pytest.approx(0.0)


async def test_a_canary_whose_traffic_stopped_has_no_data_while_its_count_is_zero(
    probe: Probe,
) -> None:
    family = probe.family
    probe.serve_canary(Traffic(rps=20, latency_ms=42))
    await probe.until(family.success_rate, _is_value(100, rel=1e-9))

    probe.serve_canary(Traffic(rps=0))
    count = await probe.until(family.request_count, _is_value(0, rel=0))
    assert count.value == 0  # the series are there, they just stopped growing: 0/0 = NaN
    for template in (family.success_rate, family.latency_p99):
        sample = await probe.once(template)
        assert sample.outcome is SampleOutcome.NO_DATA, sample


async def test_a_backend_no_one_reports_about_has_no_data(probe: Probe) -> None:
    family = probe.family  # nothing served under this namespace
    for template in (family.success_rate, family.latency_p99, family.request_count):
        sample = await probe.once(template)
        assert sample.outcome is SampleOutcome.NO_DATA, sample
        assert sample.error == ""
