"""`check` findings: every route problem blocks with a hint, Services are checked by name and
port, and a query's outcome blocks only when it would hold or fail the rollout."""

from __future__ import annotations

import pytest

from canary.api import CanarySpec, MetricGate, MinRequests, OutcomePolicy, RouteReason
from canary.cli.findings import Severity, blocking, route_findings, service_findings
from canary.cli.gates import gate_finding, guard_finding, probe_finding
from canary.core.observations import (
    MetricSample,
    RouteIssue,
    RouteObservation,
    RouteProblem,
    RuleWeights,
)

pytestmark = pytest.mark.unit

SPEC = CanarySpec.model_validate(
    {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-v1", "port": 8080},
        "canary": {"name": "api-v2", "port": 8080},
        "steps": {"weights": [5, 50]},
    }
)
GATE = MetricGate(name="success-rate", query="up", min=99)


@pytest.mark.parametrize("problem", list(RouteProblem))
def test_every_route_problem_blocks_with_its_reason_and_a_hint(problem: RouteProblem) -> None:
    observed = RouteObservation(exists=True, issues=(RouteIssue(problem, "Why", "fix it"),))
    (finding,) = route_findings(observed, namespace="shop", route="api-route")
    assert finding.severity is Severity.BLOCKER
    assert finding.message == "Why: fix it"
    assert finding.hint


@pytest.mark.parametrize("reason", list(RouteReason))
def test_every_route_reason_gets_a_hint(reason: RouteReason) -> None:
    issue = RouteIssue(RouteProblem.NOT_ACCEPTED, reason, "fix it")
    (finding,) = route_findings(
        RouteObservation(exists=True, issues=(issue,)), namespace="shop", route="api-route"
    )
    assert finding.message == f"{reason}: fix it" and finding.hint


@pytest.mark.parametrize(
    ("reason", "problem", "hint"),
    [
        ("GatewayNotFound", RouteProblem.PARENT_NOT_FOUND, "kubectl get gateways -A"),
        ("NotAllowedByListeners", RouteProblem.NOT_ACCEPTED, "allowedRoutes admit namespace shop"),
        ("NoMatchingParent", RouteProblem.NOT_ACCEPTED, "sectionName/port"),
        ("NoMatchingListenerHostname", RouteProblem.NOT_ACCEPTED, "hostname"),
        ("RefNotPermitted", RouteProblem.REFS_NOT_RESOLVED, "ReferenceGrant"),
        ("GatewayClassNotAccepted", RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED, "controllerName"),
        ("VendorSpecific", RouteProblem.NOT_ACCEPTED, "read status.parents"),
    ],
)
def test_the_hint_follows_the_specific_reason(
    reason: str, problem: RouteProblem, hint: str
) -> None:
    issue = RouteIssue(problem, reason, "words")
    (finding,) = route_findings(
        RouteObservation(exists=True, issues=(issue,)), namespace="shop", route="api-route"
    )
    assert finding.message.startswith(f"{reason}: ") and hint in finding.hint


def test_a_reason_that_is_no_condition_reason_is_shown_as_the_generic_one() -> None:
    issue = RouteIssue(RouteProblem.NOT_ACCEPTED, "not valid!", "words")
    (finding,) = route_findings(
        RouteObservation(exists=True, issues=(issue,)), namespace="shop", route="api-route"
    )
    assert finding.message == "RouteNotAccepted: words"


def test_an_attached_route_is_ok_and_says_the_weight() -> None:
    observed = RouteObservation(exists=True, rules=(RuleWeights(0, None, 90, 10),))
    (finding,) = route_findings(observed, namespace="shop", route="api-route")
    assert finding.severity is Severity.OK and "canary weight 10%" in finding.message


def test_a_missing_service_and_a_wrong_port_block() -> None:
    services = {("shop", "api-v1"): None, ("shop", "api-v2"): {"spec": {"ports": [{"port": 80}]}}}
    stable, canary = service_findings("shop", SPEC, services)
    assert stable.severity is Severity.BLOCKER and "does not exist" in stable.message
    assert "kubectl -n shop get services" in stable.hint
    assert canary.severity is Severity.BLOCKER and "has no port 8080 (ports: 80)" in canary.message
    assert blocking([stable, canary])


def test_a_canary_service_in_another_namespace_is_looked_up_there() -> None:
    spec = SPEC.model_copy(
        update={"canary": SPEC.canary.model_copy(update={"namespace": "shop-canary"})}
    )
    service = {"spec": {"ports": [{"port": 8080}]}}
    stable, canary = service_findings("shop", spec, {("shop", "api-v1"): service})
    assert stable.severity is Severity.OK
    assert canary.severity is Severity.BLOCKER
    assert "Service shop-canary/api-v2" in canary.message
    assert "kubectl -n shop-canary get services" in canary.hint


def test_services_with_the_port_are_ok() -> None:
    service = {"spec": {"ports": [{"port": 8080}]}}
    services = {("shop", "api-v1"): service, ("shop", "api-v2"): service}
    found = service_findings("shop", SPEC, services)
    assert [f.severity for f in found] == [Severity.OK, Severity.OK]
    assert not blocking(found)


def test_an_unreachable_prometheus_blocks() -> None:
    finding = probe_finding("http://p:9090", MetricSample.failed("reachable", "refused"))
    assert finding.severity is Severity.BLOCKER and "refused" in finding.message
    assert probe_finding("http://p:9090", MetricSample.of("reachable", 1)).severity is Severity.OK


@pytest.mark.parametrize(
    ("sample", "weight", "severity", "says"),
    [
        (MetricSample.of("success-rate", 99.5), 10, Severity.OK, "passes now"),
        (MetricSample.of("success-rate", 90), 10, Severity.WARNING, "outside min 99"),
        (MetricSample.no_data("success-rate"), 0, Severity.WARNING, "as expected"),
        (MetricSample.no_data("success-rate"), 10, Severity.BLOCKER, "although the canary"),
        (MetricSample.no_data("success-rate"), None, Severity.BLOCKER, "although the canary"),
        (MetricSample.failed("success-rate", "bad PromQL"), 0, Severity.BLOCKER, "bad PromQL"),
    ],
)
def test_a_gate_blocks_only_when_it_would_hold_or_fail_the_rollout(
    sample: MetricSample, weight: int | None, severity: Severity, says: str
) -> None:
    finding = gate_finding(GATE, sample, weight)
    assert finding.severity is severity
    assert says in finding.message


def test_a_pass_policy_turns_no_data_and_errors_into_warnings() -> None:
    lenient = GATE.model_copy(
        update={"on_no_data": OutcomePolicy.PASS, "on_error": OutcomePolicy.PASS}
    )
    assert gate_finding(lenient, MetricSample.no_data("x"), 10).severity is Severity.WARNING
    assert gate_finding(lenient, MetricSample.failed("x", "e"), 10).severity is Severity.WARNING


def test_the_traffic_guard_warns_when_too_little_traffic() -> None:
    guard = MinRequests(count=100, query="sum(x)")
    assert guard_finding(guard, MetricSample.of("minRequests", 5), 10).severity is Severity.WARNING
    assert guard_finding(guard, MetricSample.of("minRequests", 500), 10).severity is Severity.OK
    assert guard_finding(guard, MetricSample.no_data("minRequests"), 10).severity is (
        Severity.BLOCKER
    )
