"""Route, Gateway and GatewayClass status: reasons, transition times, others' entries kept."""

from __future__ import annotations

from typing import Any

import pytest
from worldkit import CONTROLLER, backend, gateway, obj, route, service, world

from canary.sandbox.gateway import status
from canary.sandbox.gateway.admission import intersect_hostnames, selector_matches
from canary.sandbox.gateway.world import World

pytestmark = pytest.mark.unit
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
RULES = [{"backendRefs": [backend("v1")]}]


def _ours(w: World, r: dict[str, Any], now: str = T0) -> dict[str, dict[str, Any]]:
    parents = [
        p for p in status.route_status(w, r, now)["parents"] if p["controllerName"] == CONTROLLER
    ]
    assert len(parents) == 1
    return {c["type"]: c for c in parents[0]["conditions"]}


def _reason(w: World, r: dict[str, Any], type_: str = "Accepted") -> tuple[str, str]:
    cond = _ours(w, r)[type_]
    return cond["status"], cond["reason"]


def test_an_admitted_route_with_existing_backends_is_accepted_and_resolved() -> None:
    r = route(rules=RULES)
    conds = _ours(world(gateway(), service("v1"), r), r)
    assert {t: (c["status"], c["reason"], c["observedGeneration"]) for t, c in conds.items()} == {
        "Accepted": ("True", "Accepted", 1),
        "ResolvedRefs": ("True", "ResolvedRefs", 1),
    }


@pytest.mark.parametrize(
    ("allowed", "labels", "expected"),
    [
        (None, {}, ("False", "NotAllowedByListeners")),  # default: Same namespace only
        ({"from": "All"}, {}, ("True", "Accepted")),
        (
            {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}},
            {"team": "a"},
            ("True", "Accepted"),
        ),
        (
            {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}},
            {"team": "b"},
            ("False", "NotAllowedByListeners"),
        ),
        (
            {
                "from": "Selector",
                "selector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
            },
            {"team": "x"},
            ("True", "Accepted"),
        ),
    ],
)
def test_listener_namespace_policy_decides_whether_a_route_from_another_namespace_attaches(
    allowed: dict[str, Any] | None, labels: dict[str, str], expected: tuple[str, str]
) -> None:
    lst: dict[str, Any] = {"name": "http", "port": 80, "protocol": "HTTP"}
    if allowed:
        lst["allowedRoutes"] = {"namespaces": allowed}
    r = route(namespace="apps", rules=RULES)
    w = world(gateway(listeners=[lst]), service("v1", "apps"), r, namespace_labels={"apps": labels})
    assert _reason(w, r) == expected


def test_an_unknown_section_name_or_port_gets_no_matching_parent() -> None:
    by_section = route(rules=RULES, parent={"name": "gw", "namespace": "infra", "sectionName": "x"})
    by_port = route(rules=RULES, parent={"name": "gw", "namespace": "infra", "port": 81})
    for r in (by_section, by_port):
        assert _reason(world(gateway(), service("v1"), r), r) == ("False", "NoMatchingParent")


def test_a_listener_whose_protocol_cannot_carry_the_route_gets_not_allowed_by_listeners() -> None:
    tcp = {"name": "tcp", "port": 9000, "protocol": "TCP"}
    r = route(rules=RULES, parent={"name": "gw", "namespace": "infra", "sectionName": "tcp"})
    w = world(gateway(listeners=[tcp]), service("v1"), r)
    assert _reason(w, r) == ("False", "NotAllowedByListeners")


def test_disjoint_hostnames_get_no_matching_listener_hostname() -> None:
    lst = {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"}
    r = route(rules=RULES, hostnames=["app.example.org"])
    w = world(gateway(listeners=[lst]), service("v1"), r)
    assert _reason(w, r) == ("False", "NoMatchingListenerHostname")


@pytest.mark.parametrize(
    ("listener", "route_hosts", "expected"),
    [
        (None, [], ("*",)),
        (None, ["a.com"], ("a.com",)),
        ("a.com", [], ("a.com",)),
        ("*.example.com", ["x.example.com", "example.com"], ("x.example.com",)),
        ("x.example.com", ["*.example.com"], ("x.example.com",)),
        ("*.example.com", ["*.example.com"], ("*.example.com",)),
        ("a.com", ["b.com"], ()),
    ],
)
def test_hostnames_intersect_as_the_gateway_api_says(
    listener: str | None, route_hosts: list[str], expected: tuple[str, ...]
) -> None:
    assert intersect_hostnames(listener, route_hosts) == expected


def test_a_missing_label_selector_matches_nothing_and_an_empty_one_everything() -> None:
    assert not selector_matches(None, {"a": "b"})
    assert selector_matches({}, {"a": "b"})


def test_a_missing_service_or_port_is_backend_not_found() -> None:
    r = route(rules=RULES)
    assert _reason(world(gateway(), r), r, "ResolvedRefs") == ("False", "BackendNotFound")
    other_port = route(rules=[{"backendRefs": [{"name": "v1", "port": 81}]}])
    w = world(gateway(), service("v1"), other_port)
    assert _reason(w, other_port, "ResolvedRefs") == ("False", "BackendNotFound")


def test_a_cross_namespace_backend_needs_a_grant_for_that_service() -> None:
    r = route(rules=[{"backendRefs": [backend("v1", namespace="shared")]}])
    grant_for = {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "infra"}],
        "to": [{"group": "", "kind": "Service", "name": "v1"}],
    }
    grant_other = {**grant_for, "to": [{"group": "", "kind": "Service", "name": "v2"}]}
    base = (gateway(), service("v1", "shared"), r)
    assert _reason(world(*base), r, "ResolvedRefs") == ("False", "RefNotPermitted")
    wrong = obj("ReferenceGrant", "g", "shared", spec=grant_other)
    assert _reason(world(*base, wrong), r, "ResolvedRefs") == ("False", "RefNotPermitted")
    right = obj("ReferenceGrant", "g", "shared", spec=grant_for)
    assert _reason(world(*base, right), r, "ResolvedRefs") == ("True", "ResolvedRefs")


def test_transition_time_moves_only_when_a_condition_flips() -> None:
    r = route(rules=RULES)
    w = world(gateway(), service("v1"), r)
    r["status"] = status.route_status(w, r, T0)
    again = status.route_status(world(gateway(), service("v1"), r), r, T1)
    assert again == r["status"]  # nothing changed: equal, so the controller skips the write

    broken = {**r, "metadata": {**r["metadata"], "generation": 2}}
    flipped = _ours(world(gateway(), broken), broken, T1)
    assert flipped["ResolvedRefs"]["lastTransitionTime"] == T1
    assert flipped["Accepted"]["lastTransitionTime"] == T0  # still True, new generation
    assert flipped["Accepted"]["observedGeneration"] == 2


def test_parent_entries_of_other_controllers_are_kept() -> None:
    theirs = {
        "parentRef": {"name": "other"},
        "controllerName": "example.com/other",
        "conditions": [],
    }
    r = route(rules=RULES, status={"parents": [theirs]})
    parents = status.route_status(world(gateway(), service("v1"), r), r, T0)["parents"]
    assert parents[0] == theirs
    assert [p["controllerName"] for p in parents] == ["example.com/other", CONTROLLER]


def test_a_route_that_no_longer_names_our_gateway_loses_our_entry() -> None:
    stale = {
        "parentRef": {"name": "gw", "namespace": "infra"},
        "controllerName": CONTROLLER,
        "conditions": [],
    }
    r = route(rules=RULES, parent={"name": "elsewhere"}, status={"parents": [stale]})
    assert status.route_status(world(gateway(), r), r, T0)["parents"] == []


def test_gateway_status_counts_attached_routes_and_reports_unsupported_listeners() -> None:
    https = {"name": "https", "port": 443, "protocol": "HTTPS"}
    http = {"name": "http", "port": 80, "protocol": "HTTP"}
    gw = gateway(listeners=[http, https])
    w = world(gw, service("v1"), route("a", rules=RULES), route("b", rules=RULES))
    new = status.gateway_status(w, gw, status.Programmed(ok=True), status.attached_routes(w), T0)

    listeners = {lst["name"]: lst for lst in new["listeners"]}
    assert listeners["http"]["attachedRoutes"] == 2
    assert listeners["https"]["attachedRoutes"] == 0
    https_conds = {c["type"]: c["reason"] for c in listeners["https"]["conditions"]}
    assert https_conds["Accepted"] == "UnsupportedProtocol"
    gw_conds = {c["type"]: (c["status"], c["reason"]) for c in new["conditions"]}
    assert gw_conds == {
        "Accepted": ("True", "ListenersNotValid"),
        "Programmed": ("True", "Programmed"),
    }


def test_a_rejected_push_makes_the_gateway_not_programmed_with_envoys_reason() -> None:
    gw = gateway()
    w = world(gw)
    rejected = status.Programmed(ok=False, reason="Invalid", message="Envoy rejected: bad regex")
    new = status.gateway_status(w, gw, rejected, status.attached_routes(w), T0)
    programmed = {c["type"]: c for c in new["conditions"]}["Programmed"]
    assert (programmed["status"], programmed["reason"]) == ("False", "Invalid")
    assert "bad regex" in programmed["message"]


def test_a_route_that_never_named_our_gateways_is_left_untouched() -> None:
    r = route(rules=RULES, parent={"name": "someone-elses"})
    assert status.route_status(world(gateway(), r), r, T0) == {}
    theirs = {"parents": [{"parentRef": {"name": "x"}, "controllerName": "example.com/x"}]}
    r["status"] = theirs
    assert status.route_status(world(gateway(), r), r, T0) is theirs
