"""The generated Canary CRD on a real kube-apiserver: `kubectl explain` shows the documented
fields, invalid Canaries are rejected with clear messages (and rejected the same way by the
pydantic models), defaults are applied, and a status computed by decide() is accepted."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pydantic
import pytest
import yaml

from canary.api import CanarySpec, CanaryStatus
from canary.core.decide import decide
from canary.core.observations import Observations, RouteObservation, RuleWeights

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "canary-api.yaml"
NOW = "2025-03-01T12:00:00+00:00"


class Kubectl(Protocol):
    def kubectl(self, *args: str, input_text: str | None = None) -> str: ...


def example(name: str = "api") -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    manifest["metadata"]["name"] = name
    return manifest


def create(plane: Kubectl, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    plane.kubectl("-n", namespace, "create", "-f", "-", input_text=json.dumps(manifest))
    name = manifest["metadata"]["name"]
    stored: dict[str, Any] = json.loads(
        plane.kubectl("-n", namespace, "get", "canary", name, "-o", "json")
    )
    return stored


async def test_kubectl_explain_shows_the_documented_spec_fields(control_plane: Kubectl) -> None:
    text = control_plane.kubectl("explain", "canary.spec")
    for field in ("routeRef", "stable", "canary", "steps", "analysis", "promotion", "paused",
                  "requests", "revision"):
        assert f"  {field}\t" in text, f"{field} missing from kubectl explain"
    assert "A progressive rollout from the `stable` to the `canary` backend" in text
    assert "Changing it starts a new rollout" in text


async def test_kubectl_explain_shows_the_analysis_fields(control_plane: Kubectl) -> None:
    text = control_plane.kubectl("explain", "canary.spec.analysis")
    for field in ("metrics", "failureThreshold", "inconclusiveLimit", "minRequests",
                  "prometheus"):
        assert f"  {field}\t" in text, f"{field} missing from kubectl explain"
    gates = control_plane.kubectl("explain", "canary.spec.analysis.metrics")
    assert "onNoData" in gates and "What an empty result or NaN counts as" in gates


async def test_the_example_is_accepted_with_its_defaults_applied(
    control_plane: Kubectl, namespace: str
) -> None:
    stored = create(control_plane, namespace, example())
    spec = stored["spec"]
    assert spec["routeRef"]["kind"] == "HTTPRoute"
    assert spec["steps"]["interval"] == "1m"
    assert spec["analysis"]["metrics"][0]["onNoData"] == "Inconclusive"
    assert spec["analysis"]["metrics"][0]["onError"] == "Inconclusive"
    assert spec["analysis"]["inconclusiveLimit"] == 5
    assert spec["analysis"]["prometheus"] == {"insecureSkipVerify": False, "timeout": "10s"}
    assert spec["promotion"] == {"mode": "Weights", "restartFromStable": False}
    assert spec["paused"] is False
    assert CanarySpec.model_validate(spec) == CanarySpec.model_validate(example()["spec"])


async def test_comparison_gates_are_accepted_with_their_defaults_applied(
    control_plane: Kubectl, namespace: str
) -> None:
    manifest = example(name="compared")
    manifest["spec"]["analysis"]["metrics"] = [
        {"name": "errors", "compare": {"errorRate": {"template": "contour"}}},
        {"name": "latency", "compare": {"latency": {
            "buckets": 'sum by (le) (increase(x_bucket{s="{{ canary_service }}"}[{{ interval }}]))'
        }}},
        {"name": "success", "template": "contour-success-rate", "min": 99, "failEarly": True},
    ]
    stored = create(control_plane, namespace, manifest)
    analysis = stored["spec"]["analysis"]
    assert analysis["sequential"] == {"every": "5s", "falseRollbackRate": 0.01}
    errors, latency, _ = analysis["metrics"]
    assert errors["compare"] == {
        "errorRate": {"template": "contour", "tolerance": 1},
        "onInconclusive": "Inconclusive",
    }
    assert latency["compare"]["latency"]["slowdown"] == 20
    assert latency["compare"]["latency"]["tolerance"] == 0.5
    parsed = CanarySpec.model_validate(stored["spec"])
    assert parsed.analysis is not None and parsed.analysis.comparison_alpha() == 0.005


def _set(path: str, value: Any) -> Any:
    def change(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return change


def _steps(steps: dict[str, Any]) -> Any:
    return lambda spec: spec.update({"steps": steps})


INVALID = {
    "negative weight": (_steps({"weights": [-5, 10]}), "should be greater than or equal to 1"),
    "maxWeight above 100": (_set("steps.maxWeight", 150), "less than or equal to 100"),
    "weights with stepWeight": (
        _steps({"weights": [5, 10], "stepWeight": 5, "maxWeight": 50}),
        "set exactly one of weights (a list) or stepWeight (with maxWeight)",
    ),
    "unknown template": (
        _set("analysis.metrics.0.template", "envoy-happiness"),
        'Unsupported value: "envoy-happiness"',
    ),
    "empty query": (
        lambda spec: spec["analysis"]["metrics"][0].update({"template": None, "query": ""}),
        "query must not be empty",
    ),
    "unknown query variable": (
        lambda spec: spec["analysis"]["metrics"][0].update(
            {"template": None, "query": 'up{ns="{{ nmspace }}"}'}),
        "query may only use the variables",
    ),
    "stable equal to canary": (
        _set("canary.name", "api-svc-v1"), "stable and canary must be different Services"
    ),
    "weights not increasing": (
        _steps({"weights": [10, 5]}), "weights must be strictly increasing"
    ),
    "comparison with a threshold": (
        lambda spec: spec["analysis"]["metrics"][0].update(
            {"template": None, "compare": {"errorRate": {"template": "contour"}}}),
        "a comparison has no min, max or interval",
    ),
    "comparison with a template": (
        _set("analysis.metrics.0.compare", {"latency": {"template": "app"}}),
        "set exactly one of template (a built-in), query (inline PromQL) or compare",
    ),
    "comparison of both kinds": (
        lambda spec: spec["analysis"]["metrics"][0].update({
            "template": None, "min": None, "compare": {
                "errorRate": {"template": "contour"}, "latency": {"template": "contour"}}}),
        "compare: set exactly one of errorRate or latency",
    ),
    "comparison with half its queries": (
        lambda spec: spec["analysis"]["metrics"][0].update({
            "template": None, "min": None,
            "compare": {"errorRate": {"requests": "sum(x)"}}}),
        "errorRate: set either template, or both requests and errors",
    ),
    "comparison query with an unknown variable": (
        lambda spec: spec["analysis"]["metrics"][0].update({
            "template": None, "min": None,
            "compare": {"latency": {"buckets": 'x{s="{{ svc }}"}'}}}),
        "buckets may only use the variables",
    ),
    "look period below a second": (
        _set("analysis.sequential", {"every": "500ms"}), "sequential: every must be at least 1s"
    ),
    "pause off the schedule": (
        _set("steps.pauses", [{"atWeight": 7}]),
        "every pause atWeight must be one of the step weights",
    ),
}


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


@pytest.mark.parametrize("case", sorted(INVALID))
async def test_an_invalid_canary_is_rejected_with_a_clear_message(
    control_plane: Kubectl, namespace: str, case: str
) -> None:
    change, message = INVALID[case]
    manifest = example(name="bad")
    change(manifest["spec"])
    manifest = _pruned(manifest)
    with pytest.raises(RuntimeError) as rejected:
        control_plane.kubectl("-n", namespace, "create", "-f", "-", input_text=json.dumps(manifest))
    assert message in str(rejected.value)
    with pytest.raises(pydantic.ValidationError):
        CanarySpec.model_validate(manifest["spec"])


async def test_a_status_computed_by_decide_is_accepted_and_drives_the_columns_and_wait(
    control_plane: Kubectl, namespace: str
) -> None:
    stored = create(control_plane, namespace, example())
    spec = CanarySpec.model_validate(stored["spec"])
    route = RouteObservation(exists=True, rules=(RuleWeights(0, "api", 100, 0),))
    decision = decide(spec, CanaryStatus(), observations=Observations(route=route),
                      now=datetime.fromisoformat(NOW), generation=stored["metadata"]["generation"])
    patch = json.dumps({"status": decision.status.to_api()})
    control_plane.kubectl("-n", namespace, "patch", "canary", "api", "--subresource=status",
                          "--type=merge", "-p", patch)
    back = json.loads(control_plane.kubectl("-n", namespace, "get", "cny", "api", "-o", "json"))
    assert CanaryStatus.model_validate(back["status"]) == decision.status
    table = control_plane.kubectl("-n", namespace, "get", "canary-operator")
    header, row = table.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "PHASE", "WEIGHT", "STEP"]
    assert row.split()[:4] == ["api", "Progressing", "5", "1"]
    control_plane.kubectl("-n", namespace, "wait", "--for=condition=Progressing", "--timeout=10s",
                          "canary/api")
    promoted = copy.deepcopy(back["status"])
    for condition in promoted["conditions"]:
        if condition["type"] == "Promoted":
            condition.update(status="True", reason="Promoted")
    control_plane.kubectl("-n", namespace, "patch", "canary", "api", "--subresource=status",
                          "--type=merge", "-p", json.dumps({"status": promoted}))
    control_plane.kubectl("-n", namespace, "wait", "--for=condition=Promoted", "--timeout=10s",
                          "canary/api")
