"""Every built-in template, run by a real Prometheus over traffic the exporter served."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

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
    return QueryVariables(
        namespace=unique,
        canary="web",
        route="web",
        stable_service="web-stable",
        stable_port=8080,
        canary_service="web-canary",
        canary_port=8081,
        interval=WINDOW,
    )


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


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
async def test_each_family_measures_the_canary_backend_as_served(
    family: Family,
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    variables = _variables(unique)
    family.serve(
        exporter,
        variables,
        variables.canary_service,
        Traffic(rps=200, error_ratio=0.05, latency_ms=42),
    )
    family.serve(
        exporter,
        variables,
        variables.stable_service,
        Traffic(rps=50, error_ratio=0.5, latency_ms=300),
    )

    success = await eventually(
        provider, _query(family.success_rate, variables), _is_value(95.0, rel=1e-9)
    )
    latency = await eventually(
        provider, _query(family.latency_p99, variables), _is_value(P99_AT_42MS, rel=1e-9)
    )
    count = await eventually(
        provider, _query(family.request_count, variables), _is_value(200 * WINDOW_SECONDS, rel=0.1)
    )

    assert success.value == pytest.approx(95.0)
    assert latency.value == pytest.approx(P99_AT_42MS)
    assert count.value == pytest.approx(1000, rel=0.1)


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
async def test_a_canary_that_never_failed_is_at_100_percent_though_no_error_series_exists(
    family: Family,
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    variables = _variables(unique)
    family.serve(exporter, variables, variables.canary_service, Traffic(rps=20))
    served = [line for line in exporter.render().splitlines() if unique in line]
    assert served
    errors = re.compile(r'(code|code_class)="5')
    assert not [line for line in served if errors.search(line) and "source" not in line]
    sample = await eventually(
        provider, _query(family.success_rate, variables), lambda s: s.outcome is SampleOutcome.VALUE
    )
    assert sample.value == pytest.approx(100.0)


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
async def test_a_canary_answering_only_errors_is_at_0_percent_not_no_data(
    family: Family,
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    variables = _variables(unique)
    family.serve(exporter, variables, variables.canary_service, Traffic(rps=20, error_ratio=1))
    sample = await eventually(
        provider, _query(family.success_rate, variables), lambda s: s.outcome is SampleOutcome.VALUE
    )
    assert sample.value == pytest.approx(0.0)


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
async def test_a_canary_whose_traffic_stopped_has_no_data_while_its_count_is_zero(
    family: Family,
    exporter: Exporter,
    provider: PrometheusProvider,
    eventually: Eventually,
    unique: str,
) -> None:
    variables = _variables(unique)
    family.serve(exporter, variables, variables.canary_service, Traffic(rps=20, latency_ms=42))
    await eventually(provider, _query(family.success_rate, variables), _is_value(100, rel=1e-9))

    family.serve(exporter, variables, variables.canary_service, Traffic(rps=0))
    count = await eventually(provider, _query(family.request_count, variables), _is_value(0, rel=0))
    assert count.value == 0  # the series are there, they just stopped growing: 0/0 = NaN
    for template in (family.success_rate, family.latency_p99):
        sample = await provider.query("gate", _query(template, variables))
        assert sample.outcome is SampleOutcome.NO_DATA, sample


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
async def test_a_backend_no_one_reports_about_has_no_data(
    family: Family,
    provider: PrometheusProvider,
    unique: str,
) -> None:
    variables = _variables(unique)  # nothing served under this namespace
    for template in (family.success_rate, family.latency_p99, family.request_count):
        sample = await provider.query("gate", _query(template, variables))
        assert sample.outcome is SampleOutcome.NO_DATA, sample
        assert sample.error == ""
