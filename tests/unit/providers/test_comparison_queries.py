"""Comparison gates' queries: one query rendered for both backends (only the backend's labels
differ), each built-in family for both sides, histogram results read as buckets, and the
sampler's `compare` running both sides over the rollout's window."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canary.api.comparison import ComparisonTemplate
from canary.api.spec import CanarySpec
from canary.core.observations import MetricSample, SampleOutcome
from canary.core.sequential import Histogram
from canary.kube.resources import JsonObj, Resource
from canary.providers.queries import Side, render_comparison
from canary.providers.results import buckets_from_result
from canary.providers.sampler import GateSampler
from canary.providers.templates import COMPARISON_QUERIES

pytestmark = pytest.mark.unit

WINDOW = timedelta(seconds=95, milliseconds=700)


def spec(*metrics: JsonObj, stable_namespace: str | None = None) -> CanarySpec:
    stable: JsonObj = {"name": "api-svc-v1", "port": 8080}
    if stable_namespace:
        stable["namespace"] = stable_namespace
    return CanarySpec.model_validate({
        "routeRef": {"name": "api-route"},
        "stable": stable,
        "canary": {"name": "api-svc-v2", "port": 9090},
        "steps": {"weights": [10, 50], "interval": "30s"},
        "analysis": {"sequential": {"every": "2s"}, "metrics": list(metrics)},
    })


def errors_gate(**error_rate: Any) -> JsonObj:
    return {"name": "errors", "compare": {"errorRate": error_rate}}


def latency_gate(**latency: Any) -> JsonObj:
    return {"name": "latency", "compare": {"latency": latency}}


def both(canary_spec: CanarySpec, index: int = 0) -> dict[Side, dict[str, str]]:
    assert canary_spec.analysis is not None
    gate = canary_spec.analysis.metrics[index]
    return {
        side: render_comparison(
            gate, canary_spec, namespace="team", name="api", window=WINDOW, side=side
        )
        for side in Side
    }


def _backend_neutral(query: str, service: str, port: int, namespace: str) -> str:
    return (
        query.replace(service, "<service>").replace(str(port), "<port>")
        .replace(f'"{namespace}', '"<namespace>')
    )


@pytest.mark.parametrize("family", list(ComparisonTemplate))
@pytest.mark.parametrize("kind", ["errorRate", "latency"])
def test_each_family_renders_the_same_query_for_both_backends(
    family: ComparisonTemplate, kind: str
) -> None:
    gate = errors_gate(template=family.value) if kind == "errorRate" else latency_gate(
        template=family.value
    )
    rendered = both(spec(gate, stable_namespace="shared"))
    canary, stable = rendered[Side.CANARY], rendered[Side.STABLE]
    assert set(canary) == set(stable) == (
        {"requests", "errors"} if kind == "errorRate" else {"buckets"}
    )
    for part, query in canary.items():
        assert "{{" not in query and "{{" not in stable[part]
        assert "[95s]" in query and "[95s]" in stable[part], "the window, in whole seconds"
        assert "api-svc-v2" in query and "api-svc-v1" not in query
        assert "api-svc-v1" in stable[part] and "api-svc-v2" not in stable[part]
        assert '"shared' in stable[part] or "=~\"shared" in stable[part]
        assert _backend_neutral(query, "api-svc-v2", 9090, "team") == _backend_neutral(
            stable[part], "api-svc-v1", 8080, "shared"
        ), f"{family} {part}: the two sides differ beyond the backend"


@pytest.mark.parametrize("family", list(ComparisonTemplate))
def test_every_family_counts_requests_errors_and_buckets(family: ComparisonTemplate) -> None:
    queries = COMPARISON_QUERIES[family]
    assert set(queries) == {"requests", "errors", "buckets"}
    # Each series counted whole: increase() if it existed before the window, its value if born
    # inside it (tests/integration/providers/test_prometheus_born_series.py).
    assert queries["requests"].startswith("sum(((increase(")
    assert queries["errors"].startswith("sum(((increase(")
    assert queries["errors"].endswith(" or vector(0)"), "no error series yet is 0 errors"
    assert queries["buckets"].startswith("sum by (le) (((increase(")
    for text in queries.values():
        assert "offset {{ interval }}) or (" in text and "unless" in text
    assert "_bucket{" in queries["buckets"]
    for text in queries.values():
        assert "[{{ interval }}]" in text
        assert "{{ canary_service }}" in text, "written for the canary, rendered for both"
        assert "stable_" not in text


def test_app_family_renders_the_exporter_series_for_each_side() -> None:
    rendered = both(spec(errors_gate(template="app")))
    canary = 'http_requests_total{namespace="team", service="api-svc-v2"}'
    errors = 'http_requests_total{namespace="team", service="api-svc-v2", code=~"5.."}'
    stable = 'http_requests_total{namespace="team", service="api-svc-v1"}'

    def whole(series: str) -> str:
        return (f"((increase({series}[95s]) and {series} offset 95s) or "
                f"({series} unless {series} offset 95s))")

    assert rendered[Side.CANARY] == {
        "requests": f"sum({whole(canary)})",
        "errors": f"sum({whole(errors)}) or vector(0)",
    }
    assert rendered[Side.STABLE]["requests"] == f"sum({whole(stable)})"


def test_inline_queries_are_rendered_for_each_side_with_the_backend_variables() -> None:
    gate = errors_gate(
        requests='sum(increase(reqs{svc="{{ canary_service }}", port="{{ canary_port }}", '
        'ns="{{ canary_namespace }}"}[{{ interval }}]))',
        errors='sum(increase(errs{svc="{{ canary_service }}"}[{{ interval }}])) or vector(0)',
    )
    rendered = both(spec(gate))
    assert rendered[Side.CANARY]["requests"] == (
        'sum(increase(reqs{svc="api-svc-v2", port="9090", ns="team"}[95s]))'
    )
    assert rendered[Side.STABLE]["requests"] == (
        'sum(increase(reqs{svc="api-svc-v1", port="8080", ns="team"}[95s]))'
    )
    assert rendered[Side.STABLE]["errors"] == (
        'sum(increase(errs{svc="api-svc-v1"}[95s])) or vector(0)'
    )


def test_a_short_window_is_at_least_one_second() -> None:
    canary_spec = spec(errors_gate(template="app"))
    assert canary_spec.analysis is not None
    rendered = render_comparison(
        canary_spec.analysis.metrics[0], canary_spec, namespace="team", name="api",
        window=timedelta(milliseconds=300), side=Side.CANARY,
    )
    assert "[1s]" in rendered["requests"]


def _series(le: str, value: str, **labels: str) -> JsonObj:
    return {"metric": {"le": le, **labels}, "value": [1700000000.0, value]}


def test_buckets_are_read_sorted_by_their_bound_with_inf_last() -> None:
    result = [_series("+Inf", "120"), _series("0.1", "80"), _series("0.025", "10"),
              _series("1", "NaN")]
    buckets, failure = buckets_from_result(result)
    assert failure == ""
    assert buckets == ((0.025, 10.0), (0.1, 80.0), (1.0, 0.0), (math.inf, 120.0))


def test_no_bucket_series_is_no_buckets() -> None:
    assert buckets_from_result([]) == ((), "")


@pytest.mark.parametrize(
    ("result", "complaint"),
    [
        ([{"metric": {"service": "x"}, "value": [0, "1"]}], "without an `le` label"),
        ([_series("0.1", "1", pod="a"), _series("0.1", "2", pod="b")], "several series"),
        ([_series("fast", "1")], "not a number"),
        ([{"metric": {"le": "1"}, "values": [[0, "1"]]}], "unexpected Prometheus sample"),
        ([1700000000.0, "3"], "unexpected Prometheus result"),
    ],
)
def test_bad_bucket_results_say_what_is_wrong(result: Any, complaint: str) -> None:
    buckets, failure = buckets_from_result(result)
    assert buckets == ()
    assert complaint in failure


class FakeBuckets:
    """Answers bucket queries by the backend named in them, recording the evaluation times."""

    def __init__(self, answers: dict[str, tuple[tuple[float, float], ...]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, float | None]] = []

    async def query(self, metric: str, promql: str, *, at: float | None = None) -> MetricSample:
        raise AssertionError(f"a latency comparison asks for buckets only, not {promql}")

    async def buckets(
        self, promql: str, *, at: float | None = None
    ) -> tuple[tuple[tuple[float, float], ...], str]:
        self.asked.append((promql, at))
        for service, answer in self.answers.items():
            if service in promql:
                return answer, ""
        return (), ""

    async def aclose(self) -> None:
        pass


class NoSecrets:
    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        raise AssertionError("no Secret is read")


SINCE = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)


async def test_compare_reads_each_backends_histogram_step_by_step() -> None:
    """(The error-rate side of `compare` is tests/unit/providers/test_sampler_comparisons.py.)"""
    canary = ((0.1, 10.0), (1.0, 90.0), (math.inf, 100.0))
    stable = ((0.1, 80.0), (1.0, 99.0), (math.inf, 100.0))
    provider = FakeBuckets({"api-svc-v2": canary, "api-svc-v1": stable})
    running = GateSampler(NoSecrets(), default_address="http://127.0.0.1:9")

    async def fixed(namespace: str, analysis: object) -> FakeBuckets:
        return provider

    running._provider = fixed  # type: ignore[method-assign]
    second = SINCE + timedelta(seconds=30)
    now = second + timedelta(seconds=12)
    samples = await running.compare(
        "team", "api", spec(latency_gate(template="app")), steps=[SINCE, second], now=now
    )
    assert samples[0].outcome is SampleOutcome.VALUE
    assert samples[0].steps == ((Histogram(canary), Histogram(stable)),) * 2
    assert samples[0].since == SINCE
    windows = {(at, q[q.index("[") + 1 : q.index("]")]) for q, at in provider.asked
               if "api-svc-v2" in q}
    assert windows == {(second.timestamp(), "30s"), (None, "12s")}, "each step at its end"
