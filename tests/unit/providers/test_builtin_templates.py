"""The built-in templates: one query per API name, each renderable with the standard variables."""

from __future__ import annotations

import re

import pytest
from harness.values import query_variables

from canary.api.templates import BuiltinTemplate
from canary.providers.render import render
from canary.providers.templates import BUILTIN_QUERIES, builtin_query

pytestmark = pytest.mark.unit

VARIABLES = query_variables()


def test_every_builtin_name_has_exactly_one_query() -> None:
    assert set(BUILTIN_QUERIES) == set(BuiltinTemplate)


@pytest.mark.parametrize("name", list(BuiltinTemplate))
def test_every_builtin_renders_with_the_standard_variables_and_uses_the_window(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    assert "{{" not in rendered
    assert "[1m]" in rendered
    assert rendered.count("(") == rendered.count(")")


CONTOUR = (
    BuiltinTemplate.CONTOUR_SUCCESS_RATE,
    BuiltinTemplate.CONTOUR_LATENCY_P99,
    BuiltinTemplate.CONTOUR_REQUEST_COUNT,
)
ENVOY_GATEWAY = (
    BuiltinTemplate.ENVOY_GATEWAY_SUCCESS_RATE,
    BuiltinTemplate.ENVOY_GATEWAY_LATENCY_P99,
    BuiltinTemplate.ENVOY_GATEWAY_REQUEST_COUNT,
)
ENVOY = (
    BuiltinTemplate.ENVOY_SUCCESS_RATE,
    BuiltinTemplate.ENVOY_LATENCY_P99,
    BuiltinTemplate.ENVOY_REQUEST_COUNT,
)
ENVOY_STATS = (*CONTOUR, *ENVOY_GATEWAY, *ENVOY)


@pytest.mark.parametrize("name", [t for t in BuiltinTemplate if t not in ENVOY_GATEWAY])
def test_every_builtin_measures_the_canary_backend_not_the_stable_one(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    assert "web-canary" in rendered
    assert "web-stable" not in rendered


@pytest.mark.parametrize("name", ENVOY_GATEWAY)
def test_envoy_gateway_templates_measure_the_route_rules_for_want_of_per_backend_series(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    selector = re.search(r'envoy_cluster_name=~"([^"]*)"', rendered)
    assert selector is not None
    pattern = selector.group(1).replace("\\\\", "\\")
    assert re.fullmatch(pattern, "httproute/shop/web-route/rule/0")
    assert re.fullmatch(pattern, "httproute/shop/web-route/rule/12")
    assert not re.fullmatch(pattern, "httproute/shop/other/rule/0")


@pytest.mark.parametrize("name", CONTOUR)
def test_contour_templates_select_contours_stat_name_namespace_service_port(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    assert 'envoy_cluster_name="shop_web-canary_8080"' in rendered


@pytest.mark.parametrize("name", ENVOY)
def test_envoy_templates_select_either_the_sandbox_or_the_contour_cluster_naming(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    assert 'envoy_cluster_name=~"shop[/_]web-canary[/_]8080"' in rendered
    for cluster in ("shop/web-canary/8080", "shop_web-canary_8080"):
        assert re.fullmatch("shop[/_]web-canary[/_]8080", cluster)


@pytest.mark.parametrize("name", ENVOY_STATS)
def test_envoy_templates_count_answers_by_code_class_which_includes_connect_failures(
    name: BuiltinTemplate,
) -> None:
    # Contour's Envoy counts a connect failure in upstream_rq_xx{class="5"} but not in
    # upstream_rq_total (docs/metrics.md): every count comes from the _xx series.
    query = BUILTIN_QUERIES[name]
    assert "upstream_rq_total" not in query
    assert "envoy_cluster_upstream_rq{" not in query
    assert "envoy_cluster_upstream_rq_xx" in query or "upstream_rq_time_bucket" in query


def test_istio_templates_read_the_destination_reporter() -> None:
    for name in (
        BuiltinTemplate.ISTIO_SUCCESS_RATE,
        BuiltinTemplate.ISTIO_LATENCY_P99,
        BuiltinTemplate.ISTIO_REQUEST_COUNT,
    ):
        assert 'reporter="destination"' in BUILTIN_QUERIES[name]


def test_success_rates_count_only_5xx_as_failures_and_tolerate_absent_error_series() -> None:
    for name in (
        BuiltinTemplate.CONTOUR_SUCCESS_RATE,
        BuiltinTemplate.ENVOY_GATEWAY_SUCCESS_RATE,
        BuiltinTemplate.ENVOY_SUCCESS_RATE,
        BuiltinTemplate.ISTIO_SUCCESS_RATE,
        BuiltinTemplate.APP_SUCCESS_RATE,
    ):
        query = BUILTIN_QUERIES[name]
        assert re.search(r'(envoy_response_code_class="5"|=~"5\.\.")', query)
        assert "or vector(0)" in query
        assert query.startswith("100 * ")


def test_application_latency_is_converted_from_seconds_to_milliseconds() -> None:
    assert BUILTIN_QUERIES[BuiltinTemplate.APP_LATENCY_P99].startswith("1000 * histogram_quantile")


def test_a_builtin_can_be_looked_up_by_its_string_name() -> None:
    assert builtin_query("envoy-latency-p99") == BUILTIN_QUERIES[BuiltinTemplate.ENVOY_LATENCY_P99]


def test_an_unknown_builtin_name_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown built-in template 'envoy-p50'.*envoy-latency-p99"):
        builtin_query("envoy-p50")


@pytest.mark.parametrize("name", [t for t in BuiltinTemplate if t not in ENVOY_GATEWAY])
def test_a_canary_in_another_namespace_is_measured_in_its_own_namespace(
    name: BuiltinTemplate,
) -> None:
    elsewhere = query_variables(canary_namespace="shop-next")
    rendered = render(BUILTIN_QUERIES[name], elsewhere.as_mapping())
    assert "shop-next" in rendered
    assert re.search(r'"shop[_"\[]', rendered) is None  # never the Canary's own namespace
