"""Queries that can never be rendered are found from the spec alone, before any traffic moves.

The check renders every gate with the real renderer and the Canary's own values (namespace,
name, backends, windows: all fixed for a generation), so it finds exactly the queries whose every
check would end "query cannot be rendered" — no more: a query that renders is never a problem.
"""

from __future__ import annotations

from typing import Any

import pytest

from canary.api.analysis import MetricGate
from canary.api.spec import CanarySpec
from canary.providers.queries import (
    QueryProblem,
    render_gate,
    renderable_only,
    unrenderable_queries,
)

pytestmark = pytest.mark.unit

NAMESPACE = "shop"


def spec(*metrics: dict[str, Any], **analysis: Any) -> CanarySpec:
    return CanarySpec.model_validate(
        {
            "routeRef": {"name": "web-route"},
            "stable": {"name": "web-v1", "port": 8080},
            "canary": {"name": "web-v2", "port": 8080},
            "steps": {"weights": [5, 50], "interval": "1m"},
            "analysis": {"metrics": list(metrics), **analysis},
        }
    )


def gate(query: str, name: str = "errors") -> dict[str, Any]:
    return {"name": name, "query": query, "max": 1}


GOOD = [
    pytest.param(
        'sum(rate(x{ns="{{ namespace }}", c="{{ canary }}"}[{{ interval }}]))', id="quoted"
    ),
    pytest.param('x{svc=~"{{ canary_service }}-.*"}', id="regex-matcher"),
    pytest.param("x{svc=`{{ canary_service }}`}", id="raw-string"),
    pytest.param("sum(rate(x[{{interval}}]))", id="no-spaces"),
    pytest.param('x{port="{{ canary_port }}"} > {{ stable_port }}', id="bare-port"),
    pytest.param("vector(1) # {{ route }} is {{ stable_service }}", id="in-a-comment"),
    pytest.param('x{a="{"} or y{b="}}"}', id="braces-in-literals"),
    pytest.param("vector(1)", id="no-placeholder"),
]


@pytest.mark.parametrize("query", GOOD)
def test_a_query_that_renders_is_no_problem(query: str) -> None:
    assert unrenderable_queries(spec(gate(query)), namespace=NAMESPACE, name="web-1") == []


BAD = [
    pytest.param(
        "sum(rate({{ canary }}_requests_total[1m]))",
        "{{ canary }} stands outside a string literal",
        "Quote the placeholder",
        id="canary-outside-quotes",
    ),
    pytest.param(
        "x / {{ namespace }}",
        "{{ namespace }} stands outside a string literal",
        "Quote the placeholder",
        id="namespace-outside-quotes",
    ),
    pytest.param(
        'x{svc="{{ canary_service }"}',
        "malformed placeholder",
        "write {{ name }}",
        id="unclosed-braces",
    ),
    pytest.param(
        'x{svc="{{ canary_service"}',
        "malformed placeholder",
        "write {{ name }}",
        id="unclosed-braces-at-the-end-of-a-literal",
    ),
    pytest.param('x{svc="{{"}', "malformed placeholder", "write {{ name }}", id="lone-open"),
    pytest.param(
        'x{svc="{{ canary_service }}}', 'unterminated " string literal', "", id="open-quote"
    ),
]


@pytest.mark.parametrize(("query", "reason", "fix"), BAD)
def test_a_query_that_can_never_render_is_one_problem_naming_the_gate(
    query: str, reason: str, fix: str
) -> None:
    (problem,) = unrenderable_queries(spec(gate(query)), namespace="my-shop", name="web-1")
    assert problem.field == "analysis.metrics[0]" and problem.gate == "errors"
    assert reason in problem.reason and fix in problem.reason
    assert str(problem).startswith("analysis.metrics[0] (errors): the query cannot be rendered: ")
    assert not str(problem).endswith("."), "reject_spec adds its own full stop"


def test_a_bare_name_is_a_problem_only_when_the_name_is_not_a_bare_token() -> None:
    # `{{ canary }}` outside quotes renders for a Canary named `web` (e.g. in a recording rule's
    # name); names are immutable, so a Canary named `web-1` can never render it.
    query = "sum(rate({{ canary }}:requests:rate1m[1m]))"
    assert unrenderable_queries(spec(gate(query)), namespace=NAMESPACE, name="web") == []
    (problem,) = unrenderable_queries(spec(gate(query)), namespace=NAMESPACE, name="web-1")
    assert "got 'web-1'" in problem.reason


def test_an_unknown_variable_is_a_problem_with_the_known_ones() -> None:
    # The API server rejects it when the Canary is written; a spec built without it must not
    # slip through either.
    bad = MetricGate.model_construct(name="errors", query='x{a="{{ canry }}"}', template=None)
    analysis = spec().analysis
    assert analysis is not None
    broken = spec().model_copy(update={"analysis": analysis.model_copy(update={"metrics": (bad,)})})
    (problem,) = unrenderable_queries(broken, namespace=NAMESPACE, name="web")
    assert "unknown variable {{ canry }}" in problem.reason and "canary_service" in problem.reason


def test_an_unknown_template_name_is_a_problem_with_the_known_ones() -> None:
    unknown: Any = "envoy-succes-rate"  # not a BuiltinTemplate: what the test is about
    bad = MetricGate.model_construct(name="sr", query=None, template=unknown)
    analysis = spec().analysis
    assert analysis is not None
    broken = spec().model_copy(update={"analysis": analysis.model_copy(update={"metrics": (bad,)})})
    (problem,) = unrenderable_queries(broken, namespace=NAMESPACE, name="web")
    assert problem.field == "analysis.metrics[0]" and problem.gate == "sr"
    assert "unknown built-in template 'envoy-succes-rate'" in problem.reason
    assert "envoy-success-rate" in problem.reason


def test_every_gate_and_the_traffic_guard_are_checked_in_order() -> None:
    checked = spec(
        gate('x{a="{{ canary }}"}', name="fine"),
        gate('x{a="{{ canary }"}', name="unclosed"),
        {"name": "sr", "template": "envoy-success-rate", "min": 99},
        gate("{{ route }}", name="bare"),
        minRequests={"count": 10, "query": "sum(x{a={{ canary_service }}})"},
    )
    problems = unrenderable_queries(checked, namespace=NAMESPACE, name="web")
    assert [(p.field, p.gate) for p in problems] == [
        ("analysis.metrics[1]", "unclosed"),
        ("analysis.metrics[3]", "bare"),
        ("analysis.minRequests", None),
    ]
    assert str(problems[2]).startswith("analysis.minRequests: the query cannot be rendered: ")


def test_builtin_templates_and_a_spec_without_analysis_are_no_problem() -> None:
    builtins = spec(
        {"name": "sr", "template": "envoy-success-rate", "min": 99},
        minRequests={"count": 10, "template": "envoy-request-count"},
    )
    assert unrenderable_queries(builtins, namespace="my-shop", name="web-1") == []
    bare = spec().model_copy(update={"analysis": None})
    assert unrenderable_queries(bare, namespace=NAMESPACE, name="web") == []


def test_the_check_renders_what_the_sampler_runs() -> None:
    """Same variables as a check: the gate's own window, else the step interval."""
    checked = spec(
        gate('x{ns="{{ namespace }}", c="{{ canary }}"}[{{ interval }}]', name="own"),
        {**gate('y{r="{{ route }}"}[{{ interval }}]', name="windowed"), "interval": "5m"},
    )
    assert checked.analysis is not None
    own, windowed = checked.analysis.metrics
    assert render_gate(own, checked, namespace="shop", name="web") == ('x{ns="shop", c="web"}[60s]')
    assert render_gate(windowed, checked, namespace="shop", name="web") == (
        'y{r="web-route"}[300s]'
    )


def test_a_problem_reads_as_one_sentence() -> None:
    problem = QueryProblem("analysis.metrics[2]", "p99", "malformed placeholder '{{ x': write it.")
    assert str(problem) == (
        "analysis.metrics[2] (p99): the query cannot be rendered: "
        "malformed placeholder '{{ x': write it"
    )


def test_renderable_only_drops_exactly_the_gates_that_cannot_render() -> None:
    checked = spec(
        gate('x{a="{{ canary }}"}', name="fine"),
        gate('x{a="{{ canary }"}', name="unclosed"),
        minRequests={"count": 10, "query": "{{ route }}"},
    )
    kept = renderable_only(checked, namespace=NAMESPACE, name="web")
    assert kept.analysis is not None
    assert [g.name for g in kept.analysis.metrics] == ["fine"]
    assert kept.analysis.min_requests is None
    assert unrenderable_queries(kept, namespace=NAMESPACE, name="web") == []
    fine = spec(gate("vector(1)"))
    assert renderable_only(fine, namespace=NAMESPACE, name="web") is fine


def test_a_cross_namespace_backend_renders_its_own_namespace() -> None:
    raw = spec(gate('up{ns="{{ canary_namespace }}", stable="{{ stable_namespace }}", '
                    'canary="{{ namespace }}"}')).to_api()
    raw["canary"]["namespace"] = "shop-canary"
    cross = CanarySpec.model_validate(raw)
    assert cross.analysis is not None
    query = render_gate(cross.analysis.metrics[0], cross, namespace=NAMESPACE, name="web")
    assert query == 'up{ns="shop-canary", stable="shop", canary="shop"}'
