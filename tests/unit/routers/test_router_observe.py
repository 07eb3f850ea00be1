"""observe_route: every diagnosed route failure mode yields one actionable issue."""

from __future__ import annotations

from typing import Any

import pytest
from routerkit import (
    ACCEPTED,
    GW,
    RESOLVED,
    World,
    cond,
    gateway,
    gateway_class,
    parent_status,
    ref,
    rule,
    web_route,
)

from canary.core.observations import RouteObservation, RouteProblem, RuleWeights

pytestmark = pytest.mark.unit


def healthy_route(**overrides: Any) -> dict[str, Any]:
    """The route `app/web` at 90/10, accepted and resolved by its one parent."""
    return web_route(parent_status(ACCEPTED, RESOLVED), weights=(90, 10), **overrides)


def observe(r: dict[str, Any] | None, world: World | None = None) -> RouteObservation:
    return (world or World()).with_route(r).observe()


def only_issue(observation: RouteObservation) -> tuple[RouteProblem, str, str]:
    assert len(observation.issues) == 1, observation.issues
    issue = observation.issues[0]
    return issue.problem, issue.reason, issue.message


def ingress(name: str, *hosts: str, namespace: str = "legacy") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": h} for h in hosts]},
    }


def test_a_healthy_route_is_attached_and_reports_its_weights() -> None:
    observation = observe(healthy_route(generation=3, resource_version="42"))
    assert observation.attached
    assert observation.rules == (RuleWeights(0, None, 90, 10),)
    assert (observation.generation, observation.resource_version) == (3, "42")
    assert observation.canary_weight == 10


def test_a_missing_route_names_the_route_and_says_the_operator_never_creates_it() -> None:
    problem, _, message = only_issue(observe(None))
    assert problem is RouteProblem.ROUTE_NOT_FOUND
    assert "HTTPRoute app/web" in message and "never creates" in message


def test_status_without_observed_generation_counts_as_current() -> None:
    assert observe(healthy_route(generation=7)).attached


def test_status_for_an_older_generation_holds_with_a_clear_reason() -> None:
    r = healthy_route(
        generation=7,
        status_parents=[
            parent_status(cond("Accepted", "True", "Accepted", generation=6), RESOLVED)
        ],
    )
    problem, reason, message = only_issue(observe(r))
    assert (problem, reason) == (RouteProblem.NO_PARENT_STATUS, "StatusOutdated")
    assert "generation 7" in message and "example.com/gateway" in message


def test_an_outdated_rejection_is_not_reported_as_a_rejection() -> None:
    r = healthy_route(
        generation=2,
        status_parents=[
            parent_status(cond("Accepted", "False", "NotAllowedByParent", generation=1))
        ],
    )
    assert only_issue(observe(r))[0] is RouteProblem.NO_PARENT_STATUS


def test_no_status_entry_names_the_gateway_class_and_controller_that_should_write_it() -> None:
    problem, reason, message = only_issue(observe(healthy_route(status_parents=[])))
    assert (problem, reason) == (RouteProblem.NO_PARENT_STATUS, "NoParentStatus")
    assert "Gateway infra/gw" in message
    assert "GatewayClass eg, controllerName example.com/gateway" in message


def test_status_entries_for_other_parents_are_ignored() -> None:
    foreign = parent_status(ACCEPTED, RESOLVED, name="other-gw")
    problem, _, _ = only_issue(observe(healthy_route(status_parents=[foreign])))
    assert problem is RouteProblem.NO_PARENT_STATUS


def test_a_status_entry_for_another_listener_of_the_same_gateway_does_not_count() -> None:
    r = healthy_route(
        parent_refs=[{"name": "gw", "namespace": "infra", "sectionName": "https"}],
        status_parents=[parent_status(ACCEPTED, RESOLVED, sectionName="http")],
    )
    assert only_issue(observe(r))[0] is RouteProblem.NO_PARENT_STATUS


def test_a_parent_gateway_that_does_not_exist_is_named() -> None:
    world = World(gateways={})
    problem, reason, message = only_issue(observe(healthy_route(status_parents=[]), world))
    assert (problem, reason) == (RouteProblem.PARENT_NOT_FOUND, "GatewayNotFound")
    assert "Gateway gw in namespace infra does not exist" in message


def test_a_missing_gateway_is_the_issue_even_when_a_controller_refused_the_parent() -> None:
    world = World(gateways={})
    refused = parent_status(cond("Accepted", "False", "NotAllowedByListeners", "no listener"))
    problem, reason, message = only_issue(observe(healthy_route(status_parents=[refused]), world))
    assert (problem, reason) == (RouteProblem.PARENT_NOT_FOUND, "GatewayNotFound")
    assert "create it or fix spec.parentRefs" in message and "allowedRoutes" not in message
    assert "Accepted=False (NotAllowedByListeners)" in message  # what the controller said


def test_accepted_unknown_waits_for_the_controller() -> None:
    r = healthy_route(status_parents=[parent_status(cond("Accepted", "Unknown", "Pending"))])
    assert only_issue(observe(r))[:2] == (RouteProblem.NO_PARENT_STATUS, "Pending")


@pytest.mark.parametrize("written", ["NotAllowedByListeners", "NotAllowedByParent"])
def test_not_allowed_by_listeners_explains_the_namespace_selector_and_the_label_to_add(
    written: str,
) -> None:
    listener = {
        "name": "https",
        "port": 443,
        "protocol": "HTTPS",
        "allowedRoutes": {
            "namespaces": {
                "from": "Selector",
                "selector": {"matchLabels": {"gateway-access": "true"}},
            }
        },
    }
    world = World(gateways={("infra", "gw"): gateway(listeners=[listener])})
    r = healthy_route(
        status_parents=[
            parent_status(cond("Accepted", "False", written, "not allowed"))
        ]
    )
    problem, reason, message = only_issue(observe(r, world))
    assert (problem, reason) == (RouteProblem.NOT_ACCEPTED, "NotAllowedByListeners")
    assert f"({written}: not allowed)" in message
    assert "gateway-access=true" in message
    assert "kubectl label namespace app gateway-access=true" in message
    assert "not allowed" in message  # the controller's own words are kept


def test_not_allowed_by_listeners_explains_the_same_namespace_default() -> None:
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    world = World(gateways={("infra", "gw"): gateway(listeners=[listener])})
    r = healthy_route(
        status_parents=[parent_status(cond("Accepted", "False", "NotAllowedByListeners"))]
    )
    message = only_issue(observe(r, world))[2]
    assert "only from the Gateway's own namespace infra" in message


def test_not_allowed_by_listeners_names_the_route_kinds_a_listener_takes() -> None:
    listener = {
        "name": "grpc",
        "port": 80,
        "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]},
    }
    world = World(gateways={("infra", "gw"): gateway(listeners=[listener])})
    r = healthy_route(
        status_parents=[parent_status(cond("Accepted", "False", "NotAllowedByListeners"))]
    )
    assert "only route kinds [GRPCRoute], not HTTPRoute" in only_issue(observe(r, world))[2]


def test_no_matching_listener_hostname_lists_both_sides() -> None:
    listener = {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.internal.example"}
    world = World(gateways={("infra", "gw"): gateway(listeners=[listener])})
    r = healthy_route(
        status_parents=[parent_status(cond("Accepted", "False", "NoMatchingListenerHostname"))]
    )
    problem, reason, message = only_issue(observe(r, world))
    assert (problem, reason) == (RouteProblem.NOT_ACCEPTED, "NoMatchingListenerHostname")
    assert "shop.example.com" in message and "*.internal.example" in message


def test_no_matching_parent_lists_the_gateway_listeners() -> None:
    r = healthy_route(
        parent_refs=[{"name": "gw", "namespace": "infra", "sectionName": "https"}],
        status_parents=[
            parent_status(cond("Accepted", "False", "NoMatchingParent"), sectionName="https")
        ],
    )
    _, reason, message = only_issue(observe(r))
    assert reason == "NoMatchingParent" and "http (port 80, HTTP)" in message


@pytest.mark.parametrize("reason", ["UnsupportedValue", "SomethingNew"])
def test_other_rejections_carry_the_gateway_api_reason_and_the_controller_message(
    reason: str,
) -> None:
    r = healthy_route(status_parents=[parent_status(cond("Accepted", "False", reason, "field x"))])
    problem, got, message = only_issue(observe(r))
    assert (problem, got) == (RouteProblem.NOT_ACCEPTED, reason)
    assert "field x" in message


def test_backend_not_found_names_the_missing_service() -> None:
    world = World(services={("app", "web-stable"): {}})
    r = healthy_route(
        status_parents=[parent_status(ACCEPTED, cond("ResolvedRefs", "False", "BackendNotFound"))]
    )
    problem, reason, message = only_issue(observe(r, world))
    assert (problem, reason) == (RouteProblem.REFS_NOT_RESOLVED, "BackendNotFound")
    assert "Service app/web-canary does not exist" in message


def cross_namespace_route(**overrides: Any) -> dict[str, Any]:
    return healthy_route(
        rules=[rule(ref("web-stable"), ref("web-canary"), ref("search", namespace="shared"))],
        **overrides,
    )


def grant(
    namespace: str = "shared", *, from_ns: str = "app", to_name: str | None = None
) -> dict[str, Any]:
    to: dict[str, Any] = {"group": "", "kind": "Service"}
    if to_name:
        to["name"] = to_name
    return {
        "metadata": {"name": "allow", "namespace": namespace},
        "spec": {"from": [{"group": GW, "kind": "HTTPRoute", "namespace": from_ns}], "to": [to]},
    }


def test_a_cross_namespace_backend_without_reference_grant_is_found_before_any_controller() -> None:
    problem, reason, message = only_issue(observe(cross_namespace_route()))
    assert (problem, reason) == (RouteProblem.REFS_NOT_RESOLVED, "RefNotPermitted")
    assert "ReferenceGrant in namespace shared" in message
    assert "kind: HTTPRoute, namespace: app" in message and "name: search" in message


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param([grant()], id="grant-for-all-services"),
        pytest.param([grant(to_name="search")], id="grant-for-that-service"),
    ],
)
def test_a_matching_reference_grant_satisfies_the_check(grants: list[Any]) -> None:
    assert observe(cross_namespace_route(), World(reference_grants=grants)).attached


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param([grant(namespace="app")], id="grant-in-the-route-namespace"),
        pytest.param([grant(from_ns="other")], id="grant-from-another-namespace"),
        pytest.param([grant(to_name="payments")], id="grant-for-another-service"),
    ],
)
def test_a_reference_grant_that_does_not_match_is_not_enough(grants: list[Any]) -> None:
    observation = observe(cross_namespace_route(), World(reference_grants=grants))
    assert only_issue(observation)[1] == "RefNotPermitted"


def test_a_controller_reporting_ref_not_permitted_yields_one_issue_naming_the_grant() -> None:
    r = cross_namespace_route(
        status_parents=[parent_status(ACCEPTED, cond("ResolvedRefs", "False", "RefNotPermitted"))]
    )
    _, reason, message = only_issue(observe(r))
    assert reason == "RefNotPermitted" and "ReferenceGrant in namespace shared" in message


@pytest.mark.parametrize(
    ("cls", "reason", "needle"),
    [
        pytest.param(None, "GatewayClassNotFound", "does not exist", id="class-missing"),
        pytest.param(
            gateway_class(accepted=None),
            "GatewayClassNotAccepted",
            "controllerName example.com/gateway",
            id="no-status",
        ),
        pytest.param(
            gateway_class(accepted="Unknown"),
            "GatewayClassNotAccepted",
            "No controller",
            id="crd-default-pending",
        ),
        pytest.param(
            gateway_class(accepted="False"), "GatewayClassRejected", "rejected", id="rejected"
        ),
    ],
)
def test_a_gateway_class_no_controller_accepted_is_the_reported_root_cause(
    cls: dict[str, Any] | None, reason: str, needle: str
) -> None:
    world = World(gateway_classes={"eg": cls} if cls else {})
    problem, got, message = only_issue(observe(healthy_route(status_parents=[]), world))
    assert (problem, got) == (RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED, reason)
    assert needle in message and "GatewayClass 'eg'" in message


@pytest.mark.parametrize(
    ("route_hosts", "ingress_hosts", "conflict"),
    [
        pytest.param(["shop.example.com"], ["shop.example.com"], True, id="same-host"),
        pytest.param(["shop.example.com"], ["SHOP.example.com"], True, id="case-insensitive"),
        pytest.param(["shop.example.com"], ["*.example.com"], True, id="ingress-wildcard"),
        pytest.param(
            ["a.shop.example.com"], ["*.example.com"], False, id="ingress-wildcard-is-one-label"
        ),
        pytest.param(
            ["*.example.com"], ["a.b.example.com"], True, id="route-wildcard-is-many-labels"
        ),
        pytest.param(["*.example.com"], ["example.com"], False, id="wildcard-needs-a-label"),
        pytest.param(["*.example.com"], ["*.shop.example.com"], True, id="both-wildcards-nested"),
        pytest.param(
            ["*.shop.example.com"], ["*.example.com"], False, id="ingress-wildcard-too-shallow"
        ),
        pytest.param(["shop.example.com"], ["blog.example.com"], False, id="different-hosts"),
    ],
)
def test_an_ingress_serving_a_route_hostname_is_a_conflict(
    route_hosts: list[str], ingress_hosts: list[str], conflict: bool
) -> None:
    world = World(ingresses=[ingress("old-shop", *ingress_hosts)])
    observation = observe(healthy_route(hostnames=route_hosts), world)
    assert (not observation.attached) is conflict
    if conflict:
        problem, _, message = only_issue(observation)
        assert problem is RouteProblem.INGRESS_CONFLICT
        assert "Ingress legacy/old-shop (class nginx)" in message and "bypass the canary" in message


def test_a_route_without_hostnames_is_checked_against_its_listener_hostnames() -> None:
    listener = {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "shop.example.com"}
    world = World(
        gateways={("infra", "gw"): gateway(listeners=[listener])},
        ingresses=[ingress("old", "shop.example.com")],
    )
    assert (
        only_issue(observe(healthy_route(hostnames=None), world))[0]
        is RouteProblem.INGRESS_CONFLICT
    )


def test_several_problems_are_all_reported() -> None:
    r = healthy_route(
        rules=[rule(ref("web-stable"))],
        status_parents=[parent_status(cond("Accepted", "False", "NotAllowedByParent"))],
    )
    problems = {issue.problem for issue in observe(r).issues}
    assert problems == {RouteProblem.BACKENDS_NOT_IN_ROUTE, RouteProblem.NOT_ACCEPTED}


def test_a_reference_grant_for_httproutes_does_not_admit_a_grpcroute() -> None:
    grpc = cross_namespace_route(kind="GRPCRoute")
    observation = observe(grpc, World(reference_grants=[grant()]))
    _, reason, message = only_issue(observation)
    assert reason == "RefNotPermitted" and "kind: GRPCRoute" in message
