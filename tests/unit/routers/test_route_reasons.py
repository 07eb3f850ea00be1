"""From what the world shows to the Canary's `RouteAccepted=False` condition: each failure mode
gives its own specific reason (the gateway controller's Gateway API reason, or ours when we
found the problem) and a message that says what to fix and where.

The whole pure chain runs: `observe_route` diagnoses the route, `decide` writes the condition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from routerkit import (
    ACCEPTED,
    RESOLVED,
    World,
    cond,
    first_decision,
    gateway,
    gateway_class,
    parent_status,
    ref,
    rule,
    web_route,
)

from canary.api.conditions import REASON_PATTERN, ROUTE_REASONS, RouteReason, is_reason
from canary.core.observations import RouteObservation
from canary.routers import BackendKey, observe_route
from canary.routers.backendrefs import ADVICE
from canary.routers.listeners import explain_not_accepted
from canary.routers.refs import parent_key

pytestmark = pytest.mark.unit

TROUBLESHOOTING = Path(__file__).resolve().parents[3] / "docs" / "troubleshooting.md"


def accepted_false(reason: str, message: str = "refused") -> dict[str, Any]:
    return parent_status(cond("Accepted", "False", reason, message), RESOLVED)


def resolved_false(reason: str, message: str = "unresolved") -> dict[str, Any]:
    return parent_status(ACCEPTED, cond("ResolvedRefs", "False", reason, message))


def listener(**allowed: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "http", "port": 80, "protocol": "HTTP"}
    if allowed:
        body["allowedRoutes"] = allowed
    return body


def route_accepted(world: World) -> tuple[str, str, str]:
    """The RouteAccepted condition a new Canary gets in this world: status, reason, message."""
    _, found = first_decision(world.observe())
    return found.status, found.reason, found.message


Scenario = Callable[[], World]


def _missing_route() -> World:
    return World(route=None)


def _no_canary_backend() -> World:
    return World(
        route=web_route(parent_status(ACCEPTED, RESOLVED), rules=[rule(ref("web-stable"))])
    )


def _no_parent_refs() -> World:
    return World(route=web_route(parent_refs=[]))


def _missing_gateway() -> World:
    return World(route=web_route(), gateways={})


def _missing_gateway_a_controller_refused(reason: str) -> Scenario:
    return lambda: World(
        route=web_route(accepted_false(reason, "No listeners allowed")), gateways={}
    )


def _missing_gateway_in_the_route_namespace() -> World:
    return World(route=web_route(parent_refs=[{"name": "edge"}]), gateways={})


def _no_status() -> World:
    return World(route=web_route())


def _outdated() -> World:
    stale = parent_status(cond("Accepted", "True", "Accepted", generation=1), RESOLVED)
    return World(route=web_route(stale, generation=2))


def _pending() -> World:
    return World(route=web_route(parent_status(cond("Accepted", "Unknown", "Pending"))))


def _not_admitted(reason: str) -> Scenario:
    selector = {"from": "Selector", "selector": {"matchLabels": {"gateway-access": "true"}}}
    gateways = {("infra", "gw"): gateway(listeners=[listener(namespaces=selector)])}
    return lambda: World(route=web_route(accepted_false(reason)), gateways=gateways)


def _kind_not_admitted() -> World:
    lst = listener(namespaces={"from": "All"}, kinds=[{"kind": "GRPCRoute"}])
    return World(
        route=web_route(accepted_false("NotAllowedByListeners")),
        gateways={("infra", "gw"): gateway(listeners=[lst])},
    )


def _protocol_not_admitted() -> World:
    lst = {"name": "tcp", "port": 9000, "protocol": "TCP", "allowedRoutes": {}}
    return World(
        route=web_route(accepted_false("NotAllowedByListeners")),
        gateways={("infra", "gw"): gateway(listeners=[lst])},
    )


def _hostname() -> World:
    lst = {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.internal.example"}
    return World(
        route=web_route(accepted_false("NoMatchingListenerHostname")),
        gateways={("infra", "gw"): gateway(listeners=[lst])},
    )


def _no_matching_parent() -> World:
    parents = [{"name": "gw", "namespace": "infra", "sectionName": "https"}]
    entry = parent_status(
        cond("Accepted", "False", "NoMatchingParent"), RESOLVED, sectionName="https"
    )
    return World(route=web_route(entry, parent_refs=parents))


def _accepted_false(reason: str, message: str = "refused") -> Scenario:
    return lambda: World(route=web_route(accepted_false(reason, message)))


def _resolved_false(reason: str) -> Scenario:
    return lambda: World(route=web_route(resolved_false(reason)))


def _backend_not_found() -> World:
    return World(
        route=web_route(resolved_false("BackendNotFound")), services={("app", "web-stable"): {}}
    )


def _no_reference_grant() -> World:
    refs = [ref("web-stable"), ref("web-canary"), ref("search", namespace="shared")]
    return World(route=web_route(parent_status(ACCEPTED, RESOLVED), rules=[rule(*refs)]))


def _class(cls: dict[str, Any] | None) -> Scenario:
    return lambda: World(route=web_route(), gateway_classes={"eg": cls} if cls else {})


def _ingress() -> World:
    legacy = {
        "metadata": {"name": "old-shop", "namespace": "legacy"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com"}]},
    }
    return World(route=web_route(parent_status(ACCEPTED, RESOLVED)), ingresses=[legacy])


REFUSED_CLASS = gateway_class(accepted="False")
REFUSED_CLASS["status"]["conditions"][0].update(reason="InvalidParameters", message="bad ref")

# (scenario, the condition's reason, words the message must contain, words it must not)
TABLE: list[Any] = [
    pytest.param(_missing_route, "RouteNotFound",
                 ["HTTPRoute app/web does not exist", "never creates"], [], id="route-missing"),
    pytest.param(_no_canary_backend, "BackendsNotInRoute", ["web-canary"], [],
                 id="backend-not-in-route"),
    pytest.param(_no_parent_refs, "NoParentRefs", ["no spec.parentRefs", "add a parentRef"], [],
                 id="no-parent-refs"),
    pytest.param(_missing_gateway, "GatewayNotFound",
                 ["Gateway gw in namespace infra does not exist",
                  "create it or fix spec.parentRefs"],
                 ["allowedRoutes", "listener"], id="gateway-missing"),
    pytest.param(_missing_gateway_a_controller_refused("NotAllowedByListeners"),
                 "GatewayNotFound",
                 ["Gateway gw in namespace infra does not exist",
                  "create it or fix spec.parentRefs"],
                 ["allowedRoutes", "kubectl label"], id="gateway-missing-but-refused"),
    pytest.param(_missing_gateway_a_controller_refused("NotAllowedByParent"),
                 "GatewayNotFound", ["Gateway gw in namespace infra does not exist"],
                 ["allowedRoutes"], id="gateway-missing-but-refused-by-alias"),
    pytest.param(_missing_gateway_a_controller_refused("NoMatchingParent"),
                 "GatewayNotFound", ["Gateway gw in namespace infra does not exist"],
                 ["sectionName"], id="gateway-missing-but-no-matching-parent"),
    pytest.param(_missing_gateway_in_the_route_namespace, "GatewayNotFound",
                 ["Gateway edge in namespace app does not exist",
                  "without a namespace"], [], id="gateway-missing-in-route-namespace"),
    pytest.param(_no_status, "NoParentStatus",
                 ["GatewayClass eg, controllerName example.com/gateway"], [], id="no-status"),
    pytest.param(_outdated, "StatusOutdated", ["generation 2"], [], id="status-outdated"),
    pytest.param(_pending, "Pending", ["has not decided yet"], [], id="accepted-unknown"),
    pytest.param(_not_admitted("NotAllowedByListeners"), "NotAllowedByListeners",
                 ["NotAllowedByListeners: refused", "kubectl label namespace app "
                  "gateway-access=true", "allowedRoutes"], [], id="not-allowed-by-listeners"),
    pytest.param(_not_admitted("NotAllowedByParent"), "NotAllowedByListeners",
                 ["NotAllowedByParent: refused", "kubectl label namespace app "
                  "gateway-access=true"], [], id="not-allowed-by-parent-alias"),
    pytest.param(_kind_not_admitted, "NotAllowedByListeners",
                 ["only route kinds [GRPCRoute], not HTTPRoute"], [], id="kind-not-allowed"),
    pytest.param(_protocol_not_admitted, "NotAllowedByListeners",
                 ["listener tcp speaks TCP", "cannot carry HTTPRoutes"], [],
                 id="protocol-not-allowed"),
    pytest.param(_hostname, "NoMatchingListenerHostname",
                 ["shop.example.com", "*.internal.example"], [], id="no-matching-hostname"),
    pytest.param(_no_matching_parent, "NoMatchingParent",
                 ["matches no listener", "http (port 80, HTTP)"], [], id="no-matching-parent"),
    pytest.param(_accepted_false("UnsupportedValue", "field x"), "UnsupportedValue",
                 ["field x"], [], id="unsupported-value"),
    pytest.param(_accepted_false("ParentRefNotPermitted"), "ParentRefNotPermitted",
                 ["ReferenceGrant in namespace infra"], [], id="parent-ref-not-permitted"),
    pytest.param(_accepted_false("IncompatibleFilters", "two rewrites"), "IncompatibleFilters",
                 ["two rewrites", "filters"], [], id="incompatible-filters"),
    pytest.param(_accepted_false("SomethingNew", "vendor words"), "SomethingNew",
                 ["vendor words"], [], id="implementation-specific"),
    pytest.param(_accepted_false(""), "RouteNotAccepted", ["Accepted=False"], [],
                 id="accepted-false-without-reason"),
    pytest.param(_accepted_false("not a reason!"), "RouteNotAccepted",
                 ["not a reason!"], [], id="accepted-false-invalid-reason"),
    pytest.param(_backend_not_found, "BackendNotFound",
                 ["Service app/web-canary does not exist"], [], id="backend-not-found"),
    pytest.param(_no_reference_grant, "RefNotPermitted",
                 ["no ReferenceGrant in namespace shared allows it"], [],
                 id="ref-not-permitted"),
    pytest.param(_resolved_false("InvalidKind"), "InvalidKind", ["Service"], [],
                 id="invalid-kind"),
    pytest.param(_resolved_false("UnsupportedProtocol"), "UnsupportedProtocol",
                 ["appProtocol"], [], id="unsupported-protocol"),
    pytest.param(_resolved_false(""), "RouteRefsNotResolved", ["ResolvedRefs=False"], [],
                 id="resolved-false-without-reason"),
    pytest.param(_class(None), "GatewayClassNotFound",
                 ["GatewayClass 'eg'", "does not exist"], [], id="class-missing"),
    pytest.param(_class(gateway_class(accepted="Unknown")), "GatewayClassNotAccepted",
                 ["No controller", "controllerName example.com/gateway"], [],
                 id="class-no-controller"),
    pytest.param(_class(gateway_class(accepted=None)), "GatewayClassNotAccepted",
                 ["No controller"], [], id="class-without-status"),
    pytest.param(_class(REFUSED_CLASS), "GatewayClassRejected",
                 ["rejected", "InvalidParameters: bad ref"], [], id="class-rejected"),
    pytest.param(_ingress, "IngressHostnameConflict",
                 ["Ingress legacy/old-shop (class nginx)"], [], id="ingress-conflict"),
]


@pytest.mark.parametrize(("scenario", "reason", "says", "never"), TABLE)
def test_each_failure_mode_sets_its_own_reason_and_says_what_to_fix(
    scenario: Scenario, reason: str, says: list[str], never: list[str]
) -> None:
    status, got, message = route_accepted(scenario())
    assert (status, got) == ("False", reason), message
    for words in says:
        assert words in message
    for words in never:
        assert words not in message
    assert re.fullmatch(REASON_PATTERN, got)


def test_a_healthy_route_is_accepted() -> None:
    assert route_accepted(World(route=web_route(parent_status(ACCEPTED, RESOLVED))))[:2] == (
        "True",
        "Accepted",
    )


def test_the_table_covers_every_documented_reason() -> None:
    covered = {param.values[1] for param in TABLE}
    assert set(RouteReason) - covered == set()


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("NotAllowedByListeners", True),
        ("A", True),
        ("with_underscore:and,comma", True),
        ("", False),
        ("1Digit", False),
        ("trailing:", False),
        ("has space", False),
        ("x" * 1025, False),
    ],
)
def test_is_reason_follows_metav1_condition(text: str, valid: bool) -> None:
    assert is_reason(text) is valid


def test_every_route_reason_is_described_and_has_a_troubleshooting_section() -> None:
    headings = [line for line in TROUBLESHOOTING.read_text().splitlines() if line[:1] == "#"]
    for reason in RouteReason:
        assert ROUTE_REASONS[reason].strip()
        assert any(re.search(rf"\b{reason.value}\b", h) for h in headings), (
            f"docs/troubleshooting.md has no section for {reason.value}"
        )


def test_a_gateway_the_operator_cannot_see_is_not_called_missing() -> None:
    """A namespace-scoped operator does not see Gateways in other namespaces: it trusts the
    controller's status for them instead of claiming they do not exist."""
    seen_nowhere: set[tuple[str, str]] = set()

    def observe(r: dict[str, Any]) -> RouteObservation:
        return observe_route(
            r,
            stable=BackendKey("web-stable", 80),
            canary=BackendKey("web-canary", 80),
            rule_names=None,
            gateways={},
            gateway_classes={},
            services={("app", "web-stable"): {}, ("app", "web-canary"): {}},
            reference_grants=[],
            ingresses=[],
            missing_gateways=seen_nowhere,
        )

    assert observe(web_route(parent_status(ACCEPTED, RESOLVED))).attached
    [issue] = observe(web_route()).issues
    assert issue.reason == "NoParentStatus" and "does not watch" in issue.message
    [issue] = observe(web_route(accepted_false("NotAllowedByListeners"))).issues
    assert issue.reason == "NotAllowedByListeners" and "does not exist" not in issue.message


# Every False/Unknown reason of an HTTPRoute's Accepted and ResolvedRefs conditions in the
# Gateway API (apis/v1/shared_types.go, v1.6.3), besides ParentRefNotPermitted (GEP-1748 era).
SPEC_ACCEPTED_REASONS = (
    "NotAllowedByListeners", "NoMatchingListenerHostname", "NoMatchingParent",
    "UnsupportedValue", "Pending", "IncompatibleFilters",
)
SPEC_RESOLVED_REFS_REASONS = (
    "RefNotPermitted", "InvalidKind", "BackendNotFound", "UnsupportedProtocol",
)


@pytest.mark.parametrize("reason", SPEC_ACCEPTED_REASONS + SPEC_RESOLVED_REFS_REASONS)
def test_every_gateway_api_route_reason_is_ours_described_and_kept_as_the_condition_reason(
    reason: str,
) -> None:
    assert reason in {r.value for r in RouteReason}
    assert ROUTE_REASONS[RouteReason(reason)]
    assert any(p.values[1] == reason for p in TABLE)  # a failure mode that ends in it


@pytest.mark.parametrize("reason", [r for r in SPEC_ACCEPTED_REASONS if r != "Pending"])
def test_every_gateway_api_accepted_false_reason_has_its_own_explanation(reason: str) -> None:
    r = web_route(parent_status(ACCEPTED, RESOLVED))
    key = parent_key({"name": "gw", "namespace": "infra"}, "app")
    generic = explain_not_accepted("SomethingElse", route=r, key=key, gateway=None)
    assert explain_not_accepted(reason, route=r, key=key, gateway=None) != generic


@pytest.mark.parametrize("reason", SPEC_RESOLVED_REFS_REASONS)
def test_every_gateway_api_resolved_refs_reason_has_its_own_advice(reason: str) -> None:
    assert ADVICE[reason]
