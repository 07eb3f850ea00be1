"""The standard query variables: the same names the API accepts, and a valid window."""

from __future__ import annotations

import dataclasses

import pytest
from harness.values import query_variables

from canary.api.analysis import QueryVariable
from canary.providers.variables import VARIABLE_NAMES, QueryVariables, is_duration

pytestmark = pytest.mark.unit


def _variables(**changes: object) -> QueryVariables:
    base = {"route": "r", "stable_service": "s", "stable_port": 80, "canary_service": "c"}
    return query_variables(**{**base, "interval": "30s", **changes})


def test_the_variables_are_exactly_the_ones_the_api_lets_queries_use() -> None:
    fields = tuple(field.name for field in dataclasses.fields(QueryVariables))
    assert fields == VARIABLE_NAMES
    assert set(VARIABLE_NAMES) == {variable.value for variable in QueryVariable}


def test_as_mapping_gives_strings_for_every_variable() -> None:
    mapping = _variables().as_mapping()
    assert mapping["canary_port"] == "8080"
    assert set(mapping) == set(VARIABLE_NAMES)


@pytest.mark.parametrize("text", ["30s", "1m", "1m30s", "500ms", "1h", "2d", "1w", "1y", "90s"])
def test_prometheus_durations_are_accepted(text: str) -> None:
    assert is_duration(text)


@pytest.mark.parametrize("text", ["", "0s", "30", "s", "1.5m", "30s1m", "1m 30s", "-1m", "1M"])
def test_anything_prometheus_would_not_parse_as_a_positive_duration_is_rejected(text: str) -> None:
    assert not is_duration(text)


def test_an_invalid_interval_is_rejected_when_the_variables_are_built() -> None:
    with pytest.raises(ValueError, match="interval must be a Prometheus duration"):
        _variables(interval="5m]) or vector(1")


@pytest.mark.parametrize("port", [0, 65536])
def test_ports_outside_the_tcp_range_are_rejected(port: int) -> None:
    with pytest.raises(ValueError, match="canary_port"):
        _variables(canary_port=port)
