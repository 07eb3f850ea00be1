"""Reading a Prometheus answer: value, no data and error stay three different outcomes."""

from __future__ import annotations

import math
from typing import Any

import pytest

from canary.core.observations import SampleOutcome
from canary.providers.results import sample_from_result

pytestmark = pytest.mark.unit


def _series(value: str, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [1700000000.5, value]}


def test_one_series_is_a_value() -> None:
    sample = sample_from_result("success", "q", [_series("95.5")])
    assert (sample.outcome, sample.value, sample.metric, sample.query) == (
        SampleOutcome.VALUE,
        95.5,
        "success",
        "q",
    )


def test_an_empty_vector_is_no_data() -> None:
    sample = sample_from_result("success", "q", [])
    assert sample.outcome is SampleOutcome.NO_DATA
    assert sample.value is None


def test_nan_is_no_data() -> None:
    assert sample_from_result("m", "q", [_series("NaN")]).outcome is SampleOutcome.NO_DATA


@pytest.mark.parametrize(("text", "expected"), [("+Inf", math.inf), ("-Inf", -math.inf)])
def test_infinities_are_values(text: str, expected: float) -> None:
    sample = sample_from_result("latency", "q", [_series(text)])
    assert sample.outcome is SampleOutcome.VALUE
    assert sample.value == expected


def test_a_scalar_result_is_a_value_and_a_nan_scalar_no_data() -> None:
    assert sample_from_result("m", "q", [1700000000.5, "42"]).value == 42.0
    assert sample_from_result("m", "q", [1700000000, "NaN"]).outcome is SampleOutcome.NO_DATA


def test_a_string_result_is_an_error() -> None:
    sample = sample_from_result("m", "q", [1700000000.5, "hello"])
    assert sample.outcome is SampleOutcome.ERROR
    assert "string" in sample.error


def test_several_series_are_an_error_telling_the_user_to_aggregate() -> None:
    result = [_series("1", pod=f"web-{i}") for i in range(5)]
    sample = sample_from_result("m", "q", result)
    assert sample.outcome is SampleOutcome.ERROR
    assert sample.value is None
    assert "returns 5 series" in sample.error
    assert '{pod="web-0"}' in sample.error
    assert "and 2 more" in sample.error
    assert "sum(...)" in sample.error


def test_a_range_vector_is_an_error_suggesting_a_function() -> None:
    result = [{"metric": {}, "values": [[1, "1"], [2, "2"]]}]
    sample = sample_from_result("m", "q", result)
    assert sample.outcome is SampleOutcome.ERROR
    assert "range vector" in sample.error


@pytest.mark.parametrize("result", [None, {"a": 1}, ["x"], [{"metric": {}, "value": "1"}]])
def test_malformed_answers_are_errors(result: Any) -> None:
    assert sample_from_result("m", "q", result).outcome is SampleOutcome.ERROR
