"""A Canary whose canary Service lives in another namespace: the router finds its backendRef by
(namespace, name, port), and the diagnosis holds with RefNotPermitted and the exact
ReferenceGrant to create until one allows it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from routerkit import ACCEPTED, GW, cond, parent_status, ref, route, rule

from canary.api.spec import CanarySpec
from canary.core.observations import RouteObservation
from canary.routers.observe import observe_route
from canary.routers.refs import BackendKey, RouteKey
from canary.routers.rules import locate
from canary.routers.target import claim_of, target_of

pytestmark = pytest.mark.unit

STABLE = BackendKey("web", 80)
CANARY = BackendKey("web", 80, "web-canary")  # same name and port, another namespace


def cross_route(**overrides: Any) -> dict[str, Any]:
    return route(rule(ref("web", weight=90), ref("web", weight=10, namespace="web-canary")),
                 **overrides)


def grant(*, to_name: str | None = "web", from_ns: str = "app") -> dict[str, Any]:
    to: dict[str, Any] = {"group": "", "kind": "Service"}
    if to_name is not None:
        to["name"] = to_name
    return {
        "metadata": {"name": "allow", "namespace": "web-canary"},
        "spec": {"from": [{"group": GW, "kind": "HTTPRoute", "namespace": from_ns}], "to": [to]},
    }


def observe(
    r: dict[str, Any], *, grants: list[Any] | None = None, unseen: tuple[str, ...] = ()
) -> RouteObservation:
    return observe_route(
        r, stable=STABLE, canary=CANARY, rule_names=None, ref=RouteKey("app", "web"),
        gateways={}, gateway_classes={}, services={("app", "web"): {},
                                                   ("web-canary", "web"): {}},
        reference_grants=grants or [], ingresses=[], missing_gateways=set(),
        unseen_grants=unseen,
    )


def spec(**canary: Any) -> CanarySpec:
    return CanarySpec.model_validate({
        "routeRef": {"name": "web"},
        "stable": {"name": "web", "port": 80},
        "canary": {"name": "web", "port": 80, **canary},
        "steps": {"weights": [10, 50]},
    })


def test_the_target_keeps_another_namespace_and_leaves_the_canarys_own_implicit() -> None:
    target = target_of("app", spec(namespace="web-canary"))
    assert target.canary == CANARY and target.stable == STABLE
    assert target_of("app", spec(name="web-v2", namespace="app")).canary == BackendKey("web-v2", 80)


def test_the_same_service_named_twice_is_refused_by_the_target() -> None:
    with pytest.raises(ValueError, match="same backend"):
        target_of("app", spec(namespace="app"))


def test_a_claim_names_each_backend_with_its_namespace() -> None:
    manifest = {"metadata": {"name": "c", "namespace": "app"}, "spec": spec(
        namespace="web-canary").to_api()}
    assert claim_of(manifest).backends == {("app", "web", 80), ("web-canary", "web", 80)}


def test_a_workload_claim_names_the_operators_two_services() -> None:
    manifest = {"metadata": {"name": "c", "namespace": "app"},
                "spec": {"routeRef": {"name": "r"}, "workload": {"name": "web", "port": 80}}}
    assert claim_of(manifest).backends == {("app", "web-primary", 80), ("app", "web-canary", 80)}


def test_the_router_matches_backend_refs_by_namespace_name_and_port() -> None:
    (managed,) = locate(cross_route(), stable=STABLE, canary=CANARY, rule_names=None)
    assert (managed.stable_ref, managed.canary_ref) == (0, 1)
    # The canary's name and port in the route's own namespace is the stable backend, not it.
    same_ns = route(rule(ref("web", weight=90), ref("web", weight=10)))
    assert locate(same_ns, stable=STABLE, canary=CANARY, rule_names=None) == []
    # An explicit namespace equal to the route's own matches an implicit one.
    explicit = route(rule(ref("web", namespace="app"), ref("web", namespace="web-canary")))
    assert len(locate(explicit, stable=STABLE, canary=CANARY, rule_names=None)) == 1


def test_without_a_grant_it_holds_with_ref_not_permitted_and_the_grant_to_create() -> None:
    observed = observe(cross_route(status_parents=[parent_status(ACCEPTED)]))
    assert not observed.attached
    (issue,) = observed.issues
    assert issue.reason == "RefNotPermitted"
    assert "no ReferenceGrant in namespace web-canary allows it" in issue.message
    assert "kubectl apply -f - <<EOF" in issue.message
    manifest = issue.message.split("<<EOF\n", 1)[1].rsplit("\nEOF", 1)[0]
    body = yaml.safe_load(manifest)
    assert body["kind"] == "ReferenceGrant"
    assert body["metadata"]["namespace"] == "web-canary"
    assert body["spec"] == {
        "from": [{"group": GW, "kind": "HTTPRoute", "namespace": "app"}],
        "to": [{"group": "", "kind": "Service", "name": "web"}],
    }
    # The grant we print is one our own check accepts.
    assert observe(cross_route(status_parents=[parent_status(ACCEPTED)]), grants=[body]).attached


@pytest.mark.parametrize("to_name", ["web", None], ids=["by-name", "all-services"])
def test_a_grant_for_the_service_or_for_all_services_lets_it_run(to_name: str | None) -> None:
    observed = observe(cross_route(status_parents=[parent_status(ACCEPTED)]),
                       grants=[grant(to_name=to_name)])
    assert observed.attached and observed.canary_weight == 10


def test_a_grant_from_another_namespace_is_not_enough() -> None:
    observed = observe(cross_route(status_parents=[parent_status(ACCEPTED)]),
                       grants=[grant(from_ns="elsewhere")])
    assert [i.reason for i in observed.issues] == ["RefNotPermitted"]


def test_the_controllers_ref_not_permitted_decides_where_the_operator_sees_no_grants() -> None:
    refused = cond("ResolvedRefs", "False", "RefNotPermitted", "backendRef not permitted")
    unseen = ("web-canary",)
    quiet = observe(cross_route(status_parents=[parent_status(ACCEPTED)]), unseen=unseen)
    assert quiet.attached  # no grants read, no word from the controller: not judged by us
    held = observe(cross_route(status_parents=[parent_status(ACCEPTED, refused)]), unseen=unseen)
    (issue,) = held.issues
    assert issue.reason == "RefNotPermitted"
    assert "reports ResolvedRefs=False (RefNotPermitted" in issue.message
    assert "namespace: web-canary" in issue.message and "does not watch" in issue.message
