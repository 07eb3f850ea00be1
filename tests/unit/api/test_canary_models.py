"""The Canary models: camelCase on the wire, defaults, frozen values, and every cross-field rule
rejecting what the API server's CEL rule rejects, with the same message."""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

import pydantic
import pytest

from canary.api import (
    API_VERSION,
    GROUP,
    VERSION,
    BuiltinTemplate,
    Canary,
    CanarySpec,
    CanaryStatus,
    OutcomePolicy,
    PromotionMode,
    QueryVariable,
    RequestKind,
    RouteKind,
)
from canary.api.model import ApiModel
from canary.api.query import _KNOWN_PLACEHOLDER

pytestmark = pytest.mark.unit

VALID: dict[str, Any] = {
    "routeRef": {"name": "api-route"},
    "stable": {"name": "api-svc-v1", "port": 80},
    "canary": {"name": "api-svc-v2", "port": 80},
    "steps": {"stepWeight": 5, "maxWeight": 50},
    "analysis": {"metrics": [{"name": "success-rate", "template": "envoy-success-rate",
                              "min": 99}]},
}


def spec_with(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(VALID)
    change(spec)
    return spec


def gate(**fields: Any) -> Any:
    return lambda spec: spec["analysis"]["metrics"][0].update(fields)


def test_a_backend_namespace_is_optional_and_a_same_named_service_elsewhere_is_another() -> None:
    spec = CanarySpec.model_validate(VALID)
    assert spec.stable.namespace is None and spec.canary.namespace is None
    other = CanarySpec.model_validate(
        spec_with(lambda s: s["canary"].update(name="api-svc-v1", namespace="api-canary"))
    )
    assert other.canary.namespace == "api-canary"
    assert str(other.canary) == "api-canary/api-svc-v1:80"
    assert other.to_api()["canary"] == {"name": "api-svc-v1", "port": 80, "namespace": "api-canary"}
    assert "namespace" not in spec.to_api()["canary"]


def test_a_minimal_spec_gets_the_documented_defaults() -> None:
    spec = CanarySpec.model_validate(VALID)
    assert spec.route_ref.kind is RouteKind.HTTP_ROUTE
    assert spec.steps.interval == "1m"
    assert spec.steps.pauses == ()
    assert spec.analysis is not None
    assert spec.analysis.failure_threshold == 2
    assert spec.analysis.inconclusive_limit == 5
    assert spec.analysis.metrics[0].on_no_data is OutcomePolicy.INCONCLUSIVE
    assert spec.analysis.metrics[0].on_error is OutcomePolicy.INCONCLUSIVE
    assert spec.analysis.prometheus.timeout == "10s"
    assert spec.analysis.prometheus.insecure_skip_verify is False
    assert spec.promotion.mode is PromotionMode.WEIGHTS
    assert spec.paused is False
    assert spec.requests.get(RequestKind.PROMOTE) is None


def test_fields_are_camel_case_on_the_wire_and_round_trip() -> None:
    spec = CanarySpec.model_validate(VALID)
    wire = spec.to_api()
    assert wire["routeRef"] == {"kind": "HTTPRoute", "name": "api-route"}
    assert wire["analysis"]["metrics"][0]["onNoData"] == "Inconclusive"
    assert "revision" not in wire  # unset fields are left out, not sent as null
    assert CanarySpec.model_validate(wire) == spec


def test_python_names_are_accepted_too() -> None:
    spec = CanarySpec(
        route_ref={"name": "r"}, stable={"name": "a", "port": 1}, canary={"name": "b", "port": 1},
        steps={"weights": [50]},
    )
    assert spec.route_ref.name == "r"


def test_models_are_frozen() -> None:
    spec = CanarySpec.model_validate(VALID)
    with pytest.raises(pydantic.ValidationError):
        spec.paused = True  # type: ignore[misc]


def test_unknown_fields_from_a_newer_api_are_ignored() -> None:
    spec = CanarySpec.model_validate({**VALID, "someFutureField": {"x": 1}})
    assert "someFutureField" not in spec.to_api()


def test_the_target_revision_is_spec_revision_else_the_canary_backend() -> None:
    assert CanarySpec.model_validate(VALID).target_revision == "api-svc-v2:80"
    assert CanarySpec.model_validate({**VALID, "revision": "abc123"}).target_revision == "abc123"


def test_a_whole_canary_object_parses_with_an_empty_status() -> None:
    canary = Canary.model_validate({
        "apiVersion": API_VERSION, "kind": "Canary",
        "metadata": {"name": "api", "namespace": "shop", "generation": 3}, "spec": VALID,
    })
    assert canary.status == CanaryStatus()
    assert canary.metadata.generation == 3
    assert f"{GROUP}/{VERSION}" == API_VERSION


REJECTED = {
    "negative weight": (lambda s: s.update(steps={"weights": [-5, 10]}), "greater than or equal"),
    "maxWeight above 100": (lambda s: s["steps"].update(maxWeight=150), "less than or equal"),
    "weights with stepWeight": (
        lambda s: s["steps"].update(weights=[5, 10]), "set exactly one of weights"
    ),
    "stepWeight without maxWeight": (
        lambda s: s["steps"].pop("maxWeight"), "stepWeight and maxWeight go together"
    ),
    "stepWeight above maxWeight": (
        lambda s: s["steps"].update(stepWeight=60), "stepWeight must not be larger than maxWeight"
    ),
    "weights not increasing": (
        lambda s: s.update(steps={"weights": [10, 5]}), "weights must be strictly increasing"
    ),
    "duplicate weights": (
        lambda s: s.update(steps={"weights": [5, 5]}), "weights must be strictly increasing"
    ),
    "interval under a second": (lambda s: s["steps"].update(interval="500ms"), "at least 1s"),
    "interval in words": (lambda s: s["steps"].update(interval="1 minute"), "string_pattern"),
    "pause off the schedule": (
        lambda s: s["steps"].update(pauses=[{"atWeight": 7}]), "one of the step weights"
    ),
    "pause above the maximum": (
        lambda s: s["steps"].update(pauses=[{"atWeight": 55}]), "one of the step weights"
    ),
    "unknown template": (gate(template="envoy-happiness"), "envoy-success-rate"),
    "template and query": (gate(query="up"), "set exactly one of template"),
    "neither template nor query": (gate(template=None), "set exactly one of template"),
    "empty query": (gate(template=None, query=""), "at least 1 character"),
    "blank query": (gate(template=None, query="  \n"), "query must not be empty"),
    "unknown query variable": (
        gate(template=None, query='up{ns="{{ nmspace }}"}'), "may only use the variables"
    ),
    "gate without threshold": (gate(min=None), "set min, max or both"),
    "min above max": (gate(max=10), "min must not be larger than max"),
    "stable equal to canary": (
        lambda s: s["canary"].update(name="api-svc-v1"), "must be different Services"
    ),
    "stable equal to canary, both in one other namespace": (
        lambda s: [s[role].update(name="api", namespace="other") for role in ("stable", "canary")],
        "must be different Services",
    ),
    "backend namespace not a DNS label": (
        lambda s: s["canary"].update(namespace="Other_NS"), "string_pattern"
    ),
    "port out of range": (lambda s: s["stable"].update(port=70000), "less than or equal"),
    "failure threshold zero": (
        lambda s: s["analysis"].update(failureThreshold=0), "greater than or equal"
    ),
    "prometheus address without scheme": (
        lambda s: s["analysis"].update(prometheus={"address": "prom:9090"}), "string_pattern"
    ),
    "unknown route kind": (lambda s: s["routeRef"].update(kind="TCPRoute"), "HTTPRoute"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_an_invalid_spec_is_rejected_with_a_message_that_says_why(case: str) -> None:
    change, message = REJECTED[case]
    raw = spec_with(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    for metric in raw.get("analysis", {}).get("metrics", []):
        for key in [k for k, v in metric.items() if v is None]:
            del metric[key]
    with pytest.raises(pydantic.ValidationError) as rejected:
        CanarySpec.model_validate(raw)
    errors = str(rejected.value) + repr(rejected.value.errors())
    assert message in errors


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(x{ns="{{ namespace }}",svc="{{canary_service}}"}[{{ interval }}]))',
        "vector(1)",
        'up{job="{{ stable_service }}:{{ stable_port }}"} and on() {{canary_port}} > 0',
    ],
)
def test_queries_with_known_variables_are_accepted(query: str) -> None:
    spec = CanarySpec.model_validate(spec_with(gate(template=None, query=query)))
    assert spec.analysis is not None and spec.analysis.metrics[0].query == query


def test_pauses_on_the_schedule_are_accepted_including_the_last_step() -> None:
    spec = CanarySpec.model_validate(spec_with(
        lambda s: s["steps"].update(
            stepWeight=20, maxWeight=50, pauses=[{"atWeight": 40}, {"atWeight": 50,
                                                                     "duration": "10m"}])
    ))
    timed, manual = spec.steps.pause_at(50), spec.steps.pause_at(40)
    assert timed is not None and not timed.until_promoted
    assert manual is not None and manual.until_promoted
    assert spec.steps.pause_at(20) is None


def test_every_model_rule_has_a_cel_expression_and_a_message() -> None:
    models = set(_all_models(CanarySpec))
    rules = [rule for model in models for rule in model.cel_rules]
    assert len(rules) >= 12
    assert all(rule.cel and rule.message for rule in rules)


def _all_models(model: type[ApiModel]) -> set[type[ApiModel]]:
    found = {model}
    for field in model.model_fields.values():
        for candidate in _types_in(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, ApiModel):
                found |= _all_models(candidate)
    return found


def _types_in(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", ())
    return [annotation, *[t for arg in args for t in _types_in(arg)]]


def test_the_enums_the_executor_and_providers_rely_on_have_stable_values() -> None:
    assert [v.value for v in QueryVariable] == [
        "namespace", "canary", "route", "stable_service", "stable_port", "canary_service",
        "canary_port", "stable_namespace", "canary_namespace", "interval",
    ]
    assert "envoy-success-rate" in {t.value for t in BuiltinTemplate}
    assert [v.value for v in OutcomePolicy] == ["Inconclusive", "Fail", "Pass"]


def test_the_compact_placeholder_pattern_admits_exactly_the_query_variables() -> None:
    names = {v.value for v in QueryVariable}
    words = ["namespace", "canary", "route", "interval", "stable", "service", "port"]
    candidates = {*names, *("_".join(pair) for pair in itertools.product(words, repeat=2))}
    admitted = {n for n in candidates if re.fullmatch(_KNOWN_PLACEHOLDER, "{{ " + n + " }}")}
    assert admitted == names
