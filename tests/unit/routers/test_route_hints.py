"""Hints: what the diagnosis says without holding the rollout, and where the line is.

Two cases, measured on Contour: a GatewayClass no controller marked accepted (Contour in static
mode never writes GatewayClass status) while the controller accepted the Gateway and the route;
and a backendRef that cannot resolve in a rule the canary does not manage (ResolvedRefs is per
route parent, so which rule comes from our own reading of the rules). Each is tested both ways:
a hint when the managed traffic is served, a hold when it is not.
"""

from __future__ import annotations

from typing import Any

import pytest
from harness.values import CANARY, STABLE
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

from canary.api import Phase
from canary.cli.findings import Severity, blocking, route_findings
from canary.core.observations import RouteObservation, RouteProblem
from canary.routers import RouteKey, observe_route

pytestmark = pytest.mark.unit

GATEWAY_ACCEPTED = [cond("Accepted", "True", "Accepted"), cond("Programmed", "True", "Programmed")]
CONTOUR = "projectcontour.io/gateway-controller"
BOTH = rule(ref("web-stable", weight=100), ref("web-canary", weight=0))
SERVICES: dict[tuple[str, str], Any] = {("app", "web-stable"): {}, ("app", "web-canary"): {}}


def contour(
    *parents: dict[str, Any],
    class_status: str | None = None,
    gateway_conditions: list[dict[str, Any]] | None = GATEWAY_ACCEPTED,
    gateway_generation: int = 1,
) -> World:
    """Contour in static mode: the class has no status (or the CRD's Unknown/Pending); the
    Gateway's own status is `gateway_conditions`."""
    gw = gateway(conditions=gateway_conditions, generation=gateway_generation)
    return World(
        route=web_route(*parents, hostnames=None),
        gateways={("infra", "gw"): gw},
        gateway_classes={"eg": gateway_class(controller=CONTOUR, accepted=class_status)},
    )


def served() -> dict[str, Any]:
    return parent_status(ACCEPTED, RESOLVED, controller=CONTOUR)


def route_accepted(observation: RouteObservation) -> tuple[str, str, str, Phase]:
    """What a new Canary's RouteAccepted says in this world, and the phase it enters."""
    decision, found = first_decision(observation)
    return found.status, found.reason, found.message, decision.status.phase


# --- the GatewayClass -------------------------------------------------------------------------


@pytest.mark.parametrize("class_status", [None, "Unknown"], ids=["no-status", "unknown-pending"])
def test_an_unclaimed_class_is_a_hint_when_its_controller_accepted_the_gateway_and_route(
    class_status: str | None,
) -> None:
    observed = contour(served(), class_status=class_status).observe()
    assert observed.attached, observed.issues
    [hint] = observed.hints
    assert hint.problem is RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED
    assert hint.reason == "GatewayClassNotAccepted"
    assert f"controllerName {CONTOUR}" in hint.message
    assert "Gateway infra/gw of that class is (its status says Accepted=True)" in hint.message
    assert "Contour in static mode" in hint.message
    status, reason, _, phase = route_accepted(observed)
    assert (status, reason) == ("True", "Accepted")
    assert phase is Phase.PROGRESSING


def test_an_unclaimed_class_holds_when_the_gateway_is_not_accepted_either() -> None:
    observed = contour(served(), gateway_conditions=None).observe()
    assert not observed.attached and observed.hints == ()
    status, reason, message, phase = route_accepted(observed)
    assert (status, reason) == ("False", "GatewayClassNotAccepted")
    assert "No controller for GatewayClass 'eg'" in message
    assert "install or start the gateway controller" in message
    assert phase is Phase.PENDING


@pytest.mark.parametrize(
    ("conditions", "generation"),
    [
        ([cond("Accepted", "False", "InvalidParameters")], 1),
        ([cond("Accepted", "Unknown", "Pending")], 1),
        ([cond("Accepted", "True", "Accepted", generation=1)], 2),  # an older generation's
    ],
    ids=["gateway-refused", "gateway-pending", "gateway-status-outdated"],
)
def test_only_a_current_accepted_true_on_the_gateway_vouches_for_the_class(
    conditions: list[dict[str, Any]], generation: int
) -> None:
    observed = contour(
        served(), gateway_conditions=conditions, gateway_generation=generation
    ).observe()
    assert [i.reason for i in observed.issues] == ["GatewayClassNotAccepted"]
    assert observed.hints == ()


def test_a_rejected_class_holds_whatever_the_gateway_says() -> None:
    world = contour(served(), class_status="False")
    observed = world.observe()
    assert [i.reason for i in observed.issues] == ["GatewayClassRejected"]
    assert observed.hints == ()


def test_a_missing_class_holds_whatever_the_gateway_says() -> None:
    world = contour(served())
    world.gateway_classes = {}
    assert [i.reason for i in world.observe().issues] == ["GatewayClassNotFound"]


def test_with_an_accepted_gateway_the_route_own_status_decides() -> None:
    """The class stops being the root cause: what the route's status says (or lacks) holds."""
    no_status = contour().observe()
    assert [i.reason for i in no_status.issues] == ["NoParentStatus"]
    assert [h.reason for h in no_status.hints] == ["GatewayClassNotAccepted"]
    refused = parent_status(
        cond("Accepted", "False", "NotAllowedByListeners"), RESOLVED, controller=CONTOUR
    )
    observed = contour(refused).observe()
    assert [i.reason for i in observed.issues] == ["NotAllowedByListeners"]
    assert not observed.attached


# --- rules the canary does not manage --------------------------------------------------------


def _world(*rules: dict[str, Any], parent: dict[str, Any], **extra: Any) -> World:
    return World(route=web_route(parent, rules=list(rules), hostnames=None), **extra)


OTHER_RULE = rule(ref("search", namespace="other"), name="search")
NOT_PERMITTED = parent_status(
    ACCEPTED, cond("ResolvedRefs", "False", "RefNotPermitted", "no grant"), controller=CONTOUR
)
GRANT = {
    "metadata": {"name": "app-to-search", "namespace": "other"},
    "spec": {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "app"}],
        "to": [{"group": "", "kind": "Service", "name": "search"}],
    },
}


@pytest.mark.parametrize("parent", [NOT_PERMITTED, served()], ids=["reported", "not-yet"])
def test_a_missing_reference_grant_in_another_rule_is_a_hint(parent: dict[str, Any]) -> None:
    observed = _world(BOTH, OTHER_RULE, parent=parent).observe()
    assert observed.attached, observed.issues
    [hint] = observed.hints
    assert (hint.problem, hint.reason) == (RouteProblem.REFS_NOT_RESOLVED, "RefNotPermitted")
    assert "spec.rules[1] ('search'), a rule the canary does not manage" in hint.message
    assert "Service other/search" in hint.message
    assert "needs a ReferenceGrant in namespace other" in hint.message
    assert "the rollout goes on" in hint.message
    assert route_accepted(observed)[:2] == ("True", "Accepted")


def test_a_reference_grant_clears_the_hint() -> None:
    observed = _world(BOTH, OTHER_RULE, parent=served(), reference_grants=[GRANT]).observe()
    assert observed.attached and observed.hints == ()


def test_a_missing_reference_grant_in_the_managed_rule_holds() -> None:
    managed = rule(ref("web-stable"), ref("web-canary"), ref("search", namespace="other"))
    observed = _world(managed, parent=NOT_PERMITTED).observe()
    [issue] = observed.issues
    assert issue.reason == "RefNotPermitted"
    assert "ReferenceGrant in namespace other" in issue.message
    assert observed.hints == ()
    assert route_accepted(observed)[:2] == ("False", "RefNotPermitted")


def test_a_backend_both_in_the_managed_rule_and_another_holds() -> None:
    managed = rule(ref("web-stable"), ref("web-canary"), ref("search", namespace="other"))
    observed = _world(managed, OTHER_RULE, parent=NOT_PERMITTED).observe()
    assert [i.reason for i in observed.issues] == ["RefNotPermitted"]
    assert observed.hints == ()


def test_a_refusal_our_reading_cannot_place_holds_as_the_controller_says() -> None:
    """No backend we can see lacks a grant: we cannot say the managed rules are served."""
    observed = _world(BOTH, OTHER_RULE, parent=NOT_PERMITTED, reference_grants=[GRANT]).observe()
    [issue] = observed.issues
    assert issue.reason == "RefNotPermitted" and "reports ResolvedRefs=False" in issue.message


NOT_FOUND = parent_status(
    ACCEPTED, cond("ResolvedRefs", "False", "BackendNotFound", "service gone"), controller=CONTOUR
)


def test_a_missing_service_in_another_rule_is_a_hint() -> None:
    observed = _world(BOTH, rule(ref("gone")), parent=NOT_FOUND).observe()
    assert observed.attached, observed.issues
    [hint] = observed.hints
    assert hint.reason == "BackendNotFound"
    assert "spec.rules[1], a rule the canary does not manage, refers to Service app/gone" in (
        hint.message
    )
    assert "kubectl -n app get service gone" in hint.message


def test_a_missing_canary_service_holds_and_the_other_rule_is_still_named() -> None:
    world = _world(BOTH, rule(ref("gone")), parent=NOT_FOUND)
    world.services = {("app", "web-stable"): {}}
    observed = world.observe()
    [issue] = observed.issues
    assert issue.reason == "BackendNotFound" and "Service app/web-canary does not exist" in (
        issue.message
    )
    [hint] = observed.hints
    assert "Service app/gone" in hint.message


def test_a_managed_service_without_the_port_holds() -> None:
    world = _world(BOTH, rule(ref("gone")), parent=NOT_FOUND)
    world.services = {
        ("app", "web-stable"): {"spec": {"ports": [{"port": 80}]}},
        ("app", "web-canary"): {"spec": {"ports": [{"port": 8080}]}},
    }
    observed = world.observe()
    assert [i.reason for i in observed.issues] == ["BackendNotFound"]
    assert not observed.attached


def test_backend_not_found_our_reading_cannot_place_holds() -> None:
    observed = _world(BOTH, rule(ref("web-stable")), parent=NOT_FOUND).observe()
    [issue] = observed.issues
    assert issue.reason == "BackendNotFound" and "reports ResolvedRefs=False" in issue.message


INVALID_KIND = parent_status(
    ACCEPTED, cond("ResolvedRefs", "False", "InvalidKind", "bad kind"), controller=CONTOUR
)
BUCKET = ref("assets", group="storage.example.com", kind="Bucket")


def test_an_unsupported_kind_in_another_rule_is_a_hint_and_in_the_managed_rule_holds() -> None:
    elsewhere = _world(BOTH, rule(BUCKET), parent=INVALID_KIND).observe()
    assert elsewhere.attached and [h.reason for h in elsewhere.hints] == ["InvalidKind"]
    assert "Bucket.storage.example.com app/assets" in elsewhere.hints[0].message
    managed = rule(ref("web-stable"), ref("web-canary"), BUCKET)
    inside = _world(managed, parent=INVALID_KIND).observe()
    assert [i.reason for i in inside.issues] == ["InvalidKind"] and inside.hints == ()


def test_named_rules_decide_which_rules_are_managed() -> None:
    """With spec.route.ruleNames, a rule holding both backends but not named is not managed."""
    main = rule(ref("web-stable"), ref("web-canary"), name="main")
    mirror = rule(ref("web-stable"), ref("web-canary"), ref("search", namespace="other"),
                  name="mirror")

    def observe(names: tuple[str, ...] | None) -> RouteObservation:
        return observe_route(
            web_route(NOT_PERMITTED, rules=[main, mirror], hostnames=None), stable=STABLE,
            canary=CANARY, rule_names=names, gateways={("infra", "gw"): gateway()},
            gateway_classes={"eg": gateway_class()}, services=SERVICES, reference_grants=[],
            ingresses=[], ref=RouteKey("app", "web"),
        )

    named = observe(("main",))
    assert named.attached and "spec.rules[1] ('mirror')" in named.hints[0].message
    every = observe(None)  # both rules hold both backends: both are managed
    assert [i.reason for i in every.issues] == ["RefNotPermitted"]


# --- canary check -----------------------------------------------------------------------------


def test_check_shows_hints_as_warnings_that_do_not_block() -> None:
    observed = contour(served()).observe()
    found = route_findings(observed, namespace="app", route="web")
    assert [f.severity for f in found] == [Severity.OK, Severity.WARNING]
    assert found[1].message.startswith("GatewayClassNotAccepted: ")
    assert "static mode" in found[1].hint
    assert not blocking(found)
    elsewhere = _world(BOTH, OTHER_RULE, parent=NOT_PERMITTED).observe()
    ok, warning = route_findings(elsewhere, namespace="app", route="web")
    assert (ok.severity, warning.severity) == (Severity.OK, Severity.WARNING)
    assert "ReferenceGrant" in warning.hint


def test_check_shows_hints_beside_the_blockers() -> None:
    observed = _world(BOTH, rule(ref("gone")), parent=NOT_FOUND)
    observed.services = {("app", "web-stable"): {}}
    found = route_findings(observed.observe(), namespace="app", route="web")
    assert [f.severity for f in found] == [Severity.BLOCKER, Severity.WARNING]
    assert blocking(found)
