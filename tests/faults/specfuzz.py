"""Hypothesis strategies for Canary specs: valid-looking ones, and broken ones that each carry
the field path the API server's rejection must name.

A broken spec is a valid-looking one with exactly one mutation applied; the mutation knows
which field it broke (`hint`, a prefix of the path the server reports, e.g. `spec.steps`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

JsonObj = dict[str, Any]
Case = tuple[JsonObj, str | None]  # (spec, field the rejection must name; None: valid-looking)

_LOWER, _INNER = "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz0123456789-"
DNS = st.builds(
    lambda head, middle, tail: head + middle + tail if middle or tail else head,
    st.sampled_from(_LOWER),
    st.text(_INNER, max_size=14),
    st.sampled_from(_LOWER + "0123456789"),
)
DURATIONS = st.sampled_from(["1s", "2s", "5s", "30s", "1m", "90s", "1m30s", "1h", "2h45m"])
TEMPLATES = st.sampled_from(
    [
        "envoy-success-rate",
        "envoy-latency-p99",
        "istio-success-rate",
        "istio-latency-p99",
        "app-success-rate",
        "app-latency-p99",
    ]
)
QUERIES = st.sampled_from(
    [
        'sum(rate(http_requests_total{service="{{ canary_service }}"}[{{ interval }}]))',
        'canary_fault_success{namespace="{{ namespace }}",service="{{ canary_service }}"}',
        "vector(1)",
        'up{job="{{canary}}", route="{{ route }}", port="{{ canary_port }}"}',
        "histogram_quantile(0.99, rate(x_bucket[{{ interval }}]))",
        "1 / 0",
        "this is not promql",
        '{__name__=~"{{ stable_service }}.*", port="{{ stable_port }}"}',
    ]
)
NUMBERS = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
NONCES = st.text(min_size=1, max_size=40)
POLICIES = st.sampled_from(["Inconclusive", "Fail", "Pass"])


@st.composite
def steps(draw: st.DrawFn) -> JsonObj:
    out: JsonObj = {}
    if draw(st.booleans()):
        weights = sorted(draw(st.lists(st.integers(1, 100), min_size=1, max_size=8, unique=True)))
        out["weights"] = weights
        marks = draw(st.lists(st.sampled_from(weights), max_size=2, unique=True))
    else:
        step = draw(st.integers(1, 100))
        top = draw(st.integers(step, 100))
        out["stepWeight"], out["maxWeight"] = step, top
        marks = [top] if draw(st.booleans()) else []
    if draw(st.booleans()):
        out["interval"] = draw(DURATIONS)
    pauses = []
    for mark in marks:
        pause: JsonObj = {"atWeight": mark}
        if draw(st.booleans()):
            pause["duration"] = draw(DURATIONS)
        pauses.append(pause)
    if pauses:
        out["pauses"] = pauses
    return out


@st.composite
def gate(draw: st.DrawFn, name: str) -> JsonObj:
    out: JsonObj = {"name": name}
    if draw(st.booleans()):
        out["template"] = draw(TEMPLATES)
    else:
        out["query"] = draw(QUERIES)
    low, high = sorted([draw(NUMBERS), draw(NUMBERS)])
    which = draw(st.sampled_from(["min", "max", "both"]))
    if which in ("min", "both"):
        out["min"] = low
    if which in ("max", "both"):
        out["max"] = high
    if draw(st.booleans()):
        out["interval"] = draw(DURATIONS)
    if draw(st.booleans()):
        out["onNoData"] = draw(POLICIES)
    if draw(st.booleans()):
        out["onError"] = draw(POLICIES)
    return out


@st.composite
def analysis(draw: st.DrawFn) -> JsonObj:
    names = draw(st.lists(DNS, max_size=3, unique=True))
    out: JsonObj = {"metrics": [draw(gate(name)) for name in names]}
    if draw(st.booleans()):
        out["failureThreshold"] = draw(st.integers(1, 100))
    if draw(st.booleans()):
        out["inconclusiveLimit"] = draw(st.integers(0, 100))
    if draw(st.booleans()):
        prometheus: JsonObj = {}
        if draw(st.booleans()):
            prometheus["address"] = draw(
                st.sampled_from(["http://127.0.0.1:1", "https://prometheus.invalid:9090/x"])
            )
        if draw(st.booleans()):
            prometheus["timeout"] = draw(DURATIONS)
        if draw(st.booleans()):
            prometheus["insecureSkipVerify"] = draw(st.booleans())
        if draw(st.booleans()):
            prometheus["secretRef"] = {"name": draw(DNS)}
        out["prometheus"] = prometheus
    if draw(st.booleans()):
        guard: JsonObj = {"count": draw(st.integers(1, 1_000_000_000))}
        if draw(st.booleans()):
            guard["template"] = "envoy-request-count"
        else:
            guard["query"] = draw(QUERIES)
        out["minRequests"] = guard
    return out


@st.composite
def valid_specs(draw: st.DrawFn) -> JsonObj:
    """Specs that should pass validation (a few may not: the server has the last word)."""
    stable = draw(st.one_of(st.just("fz-v1"), DNS))
    canary = draw(st.one_of(st.just("fz-v2"), DNS).filter(lambda name: name != stable))
    route: JsonObj = {"name": draw(st.one_of(st.sampled_from(["fz", "missing"]), DNS))}
    if draw(st.integers(0, 9)) == 0:
        route["kind"] = "GRPCRoute"
    if draw(st.integers(0, 4)) == 0:
        route["ruleNames"] = draw(st.lists(DNS, min_size=1, max_size=3, unique=True))
    spec: JsonObj = {
        "routeRef": route,
        "stable": {"name": stable, "port": draw(st.sampled_from([8080, 80, 1, 65535]))},
        "canary": {"name": canary, "port": draw(st.integers(1, 65535))},
        "steps": draw(steps()),
    }
    if draw(st.booleans()):
        spec["analysis"] = draw(analysis())
    if draw(st.integers(0, 3)) == 0:
        spec["promotion"] = {"mode": draw(st.sampled_from(["Weights", "Rewrite"]))}
    if draw(st.integers(0, 2)) == 0:
        spec["revision"] = draw(st.text(min_size=1, max_size=128))
    if draw(st.integers(0, 4)) == 0:
        spec["paused"] = draw(st.booleans())
    if draw(st.integers(0, 4)) == 0:
        kinds = draw(st.lists(st.sampled_from(["promote", "promoteFull", "abort", "retry"])))
        spec["requests"] = {kind: draw(NONCES) for kind in kinds}
    return spec


Mutation = Callable[[st.DrawFn, JsonObj], str]


def _weights(spec: JsonObj) -> JsonObj:
    steps: JsonObj = {"weights": [10, 50], "interval": spec["steps"].get("interval", "1s")}
    spec["steps"] = steps
    return steps


def _gate(spec: JsonObj) -> JsonObj:
    block = spec.setdefault("analysis", {})
    metric: JsonObj = {"name": "gate", "query": "vector(1)", "min": 1}
    block["metrics"] = [metric]
    return metric


def m_unsorted(draw: st.DrawFn, spec: JsonObj) -> str:
    _weights(spec)["weights"] = draw(st.sampled_from([[50, 10], [10, 10], [30, 20, 40]]))
    return "spec.steps.weights"


def m_weight_range(draw: st.DrawFn, spec: JsonObj) -> str:
    _weights(spec)["weights"] = [draw(st.sampled_from([0, -5, 101, 1000]))]
    return "spec.steps.weights"


def m_both_schedules(draw: st.DrawFn, spec: JsonObj) -> str:
    _weights(spec).update(stepWeight=10, maxWeight=50)
    return "spec.steps"


def m_step_above_max(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["steps"] = {"stepWeight": draw(st.integers(51, 100)), "maxWeight": 50}
    return "spec.steps"


def m_step_alone(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["steps"] = {"stepWeight": 10}
    return "spec.steps"


def m_interval(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["steps"]["interval"] = draw(st.sampled_from(["0s", "500ms", "ten", "1d", "-1s", ""]))
    return "spec.steps.interval"


def m_same_backend(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["canary"] = {"name": spec["stable"]["name"], "port": spec["canary"]["port"]}
    return "spec"


def m_port(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["canary"]["port"] = draw(st.sampled_from([0, 65536, -1]))
    return "spec.canary.port"


def m_route_name(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["routeRef"]["name"] = draw(st.sampled_from(["Bad_Name", "-x", "a..b", "UPPER"]))
    return "spec.routeRef.name"


def m_gate_no_bounds(draw: st.DrawFn, spec: JsonObj) -> str:
    del _gate(spec)["min"]
    return "spec.analysis.metrics[0]"


def m_gate_min_above_max(draw: st.DrawFn, spec: JsonObj) -> str:
    _gate(spec).update(min=10, max=draw(st.sampled_from([9.99, -1, 0])))
    return "spec.analysis.metrics[0]"


def m_gate_template_and_query(draw: st.DrawFn, spec: JsonObj) -> str:
    _gate(spec)["template"] = "envoy-success-rate"
    return "spec.analysis.metrics[0]"


def m_gate_unknown_variable(draw: st.DrawFn, spec: JsonObj) -> str:
    _gate(spec)["query"] = draw(st.sampled_from(["x{a=\"{{ nope }}\"}", "{{canary_name}}", "{{}}"]))
    return "spec.analysis.metrics[0].query"


def m_gate_policy(draw: st.DrawFn, spec: JsonObj) -> str:
    field = draw(st.sampled_from(["onError", "onNoData"]))
    _gate(spec)[field] = draw(st.sampled_from(["Maybe", "fail", ""]))
    return f"spec.analysis.metrics[0].{field}"


def m_unknown_template(draw: st.DrawFn, spec: JsonObj) -> str:
    gate = _gate(spec)
    del gate["query"]
    gate["template"] = "nginx-success-rate"
    return "spec.analysis.metrics[0].template"


def m_duplicate_gates(draw: st.DrawFn, spec: JsonObj) -> str:
    gate = _gate(spec)
    spec["analysis"]["metrics"] = [gate, dict(gate)]
    return "spec.analysis.metrics"


def m_threshold(draw: st.DrawFn, spec: JsonObj) -> str:
    spec.setdefault("analysis", {})["failureThreshold"] = draw(st.sampled_from([0, -1, 101]))
    return "spec.analysis.failureThreshold"


def m_address(draw: st.DrawFn, spec: JsonObj) -> str:
    address = draw(st.sampled_from(["ftp://prometheus", "prometheus:9090", ""]))
    spec.setdefault("analysis", {})["prometheus"] = {"address": address}
    return "spec.analysis.prometheus.address"


def m_pause_off_schedule(draw: st.DrawFn, spec: JsonObj) -> str:
    _weights(spec)["pauses"] = [{"atWeight": draw(st.sampled_from([20, 99]))}]
    return "spec.steps.pauses"


def m_missing_required(draw: st.DrawFn, spec: JsonObj) -> str:
    field = draw(st.sampled_from(["routeRef", "stable", "canary", "steps"]))
    del spec[field]
    return f"spec.{field}"


def m_wrong_type(draw: st.DrawFn, spec: JsonObj) -> str:
    _weights(spec)["weights"] = draw(st.sampled_from(["10,50", 10, {"a": 1}]))
    return "spec.steps.weights"


def m_empty_revision(draw: st.DrawFn, spec: JsonObj) -> str:
    spec["revision"] = draw(st.sampled_from(["", "x" * 129]))
    return "spec.revision"


MUTATIONS: tuple[Mutation, ...] = (
    m_unsorted, m_weight_range, m_both_schedules, m_step_above_max, m_step_alone, m_interval,
    m_same_backend, m_port, m_route_name, m_gate_no_bounds, m_gate_min_above_max,
    m_gate_template_and_query, m_gate_unknown_variable, m_gate_policy, m_unknown_template,
    m_duplicate_gates, m_threshold, m_address, m_pause_off_schedule, m_missing_required,
    m_wrong_type, m_empty_revision,
)


@st.composite
def broken_specs(draw: st.DrawFn) -> Case:
    spec = copy.deepcopy(draw(valid_specs()))
    mutation = draw(st.sampled_from(MUTATIONS))
    return spec, mutation(draw, spec)


def cases() -> st.SearchStrategy[Case]:
    return st.one_of(valid_specs().map(lambda spec: (spec, None)), broken_specs())
