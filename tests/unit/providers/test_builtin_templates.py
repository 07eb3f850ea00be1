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


@pytest.mark.parametrize("name", list(BuiltinTemplate))
def test_every_builtin_measures_the_canary_backend_not_the_stable_one(
    name: BuiltinTemplate,
) -> None:
    rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
    assert "web-canary" in rendered
    assert "web-stable" not in rendered


def test_envoy_templates_select_the_cluster_named_namespace_service_port() -> None:
    for name in (
        BuiltinTemplate.ENVOY_SUCCESS_RATE,
        BuiltinTemplate.ENVOY_LATENCY_P99,
        BuiltinTemplate.ENVOY_REQUEST_COUNT,
    ):
        rendered = render(BUILTIN_QUERIES[name], VARIABLES.as_mapping())
        assert 'envoy_cluster_name="shop/web-canary/8080"' in rendered


def test_istio_templates_read_the_destination_reporter() -> None:
    for name in (
        BuiltinTemplate.ISTIO_SUCCESS_RATE,
        BuiltinTemplate.ISTIO_LATENCY_P99,
        BuiltinTemplate.ISTIO_REQUEST_COUNT,
    ):
        assert 'reporter="destination"' in BUILTIN_QUERIES[name]


def test_success_rates_count_only_5xx_as_failures_and_tolerate_absent_error_series() -> None:
    for name in (
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
