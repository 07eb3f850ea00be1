"""Gateway API objects → Envoy JSON: weights, 500s, matches, precedence, hostnames, filters."""

from __future__ import annotations

from typing import Any

import pytest
from worldkit import backend, endpoint_slice, gateway, route, service, world

from canary.sandbox.gateway.routes import INVALID_BACKEND_CLUSTER
from canary.sandbox.gateway.translate import listener_name, listener_names, translate
from canary.sandbox.gateway.world import World

pytestmark = pytest.mark.unit
LISTENER = "infra/gw/80"


def _routes(w: World, host: str = "*") -> list[dict[str, Any]]:
    config = translate(w, {name: 10000 + i for i, name in enumerate(listener_names(w))})
    vhosts = {vh["name"]: vh for vh in config.route_configs[LISTENER]["virtual_hosts"]}
    routes: list[dict[str, Any]] = vhosts[host]["routes"]
    return routes


def test_backend_weights_become_weighted_clusters_named_namespace_service_port() -> None:
    w = world(
        gateway(),
        service("v1"),
        service("v2"),
        endpoint_slice("v1", addresses=["192.0.2.1"], port=8001),
        route(rules=[{"backendRefs": [backend("v1", 90), backend("v2", 10)]}]),
    )
    config = translate(w, {LISTENER: 12345})

    assert config.listeners == {LISTENER: 12345}
    action = _routes(w)[0]["route"]["weighted_clusters"]["clusters"]
    assert action == [{"name": "infra/v1/80", "weight": 90}, {"name": "infra/v2/80", "weight": 10}]
    endpoints = config.clusters["infra/v1/80"]["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoints[0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": "127.0.0.1", "port_value": 8001}  # the stand-in, dialled
    assert config.clusters["infra/v2/80"]["load_assignment"]["endpoints"] == [{"lb_endpoints": []}]


def test_a_rule_whose_weights_are_all_zero_answers_500_directly() -> None:
    w = world(gateway(), service("v1"), route(rules=[{"backendRefs": [backend("v1", 0)]}]))
    assert _routes(w)[0]["direct_response"] == {"status": 500}
    assert "route" not in _routes(w)[0]


def test_a_zero_weight_next_to_a_positive_one_stays_in_the_config() -> None:
    w = world(
        gateway(),
        service("v1"),
        service("v2"),
        route(rules=[{"backendRefs": [backend("v1", 100), backend("v2", 0)]}]),
    )
    clusters = _routes(w)[0]["route"]["weighted_clusters"]["clusters"]
    assert clusters == [
        {"name": "infra/v1/80", "weight": 100},
        {"name": "infra/v2/80", "weight": 0},
    ]


def test_the_share_of_a_missing_backend_goes_to_the_500_cluster() -> None:
    w = world(
        gateway(),
        service("v1"),
        route(rules=[{"backendRefs": [backend("v1", 3), backend("gone", 1)]}]),
    )
    clusters = _routes(w)[0]["route"]["weighted_clusters"]["clusters"]
    assert clusters == [
        {"name": "infra/v1/80", "weight": 3},
        {"name": INVALID_BACKEND_CLUSTER, "weight": 1},
    ]
    assert INVALID_BACKEND_CLUSTER not in translate(w, {LISTENER: 1}).clusters


def test_matches_follow_gateway_api_precedence_within_a_route() -> None:
    def m(kind: str, value: str, **extra: Any) -> dict[str, Any]:
        return {"path": {"type": kind, "value": value}, **extra}

    header = {"headers": [{"name": "X-Canary", "value": "yes"}]}
    rules = [
        {"matches": [m("PathPrefix", "/")], "backendRefs": [backend("v1")]},
        {"matches": [m("PathPrefix", "/api")], "backendRefs": [backend("v1")]},
        {"matches": [m("PathPrefix", "/api", **header)], "backendRefs": [backend("v1")]},
        {"matches": [m("RegularExpression", "/r.*")], "backendRefs": [backend("v1")]},
        {"matches": [m("Exact", "/a")], "backendRefs": [backend("v1")]},
        {"matches": [m("PathPrefix", "/api", method="GET")], "backendRefs": [backend("v1")]},
    ]
    w = world(gateway(), service("v1"), route(rules=rules))
    order = [r["name"].split("/rule/")[1] for r in _routes(w)]
    assert order == ["4/match/0", "3/match/0", "5/match/0", "2/match/0", "1/match/0", "0/match/0"]


def test_ties_between_routes_go_to_the_oldest_route() -> None:
    rules = [{"backendRefs": [backend("v1")]}]
    w = world(
        gateway(),
        service("v1"),
        route("young", rules=rules, created="2026-01-02T00:00:00Z"),
        route("old", rules=rules, created="2026-01-01T00:00:00Z"),
    )
    assert [r["name"] for r in _routes(w)] == [
        "infra/old/rule/0/match/0",
        "infra/young/rule/0/match/0",
    ]


def test_envoy_matches_use_whole_segment_prefixes_headers_and_query_params() -> None:
    match = {
        "path": {"type": "PathPrefix", "value": "/api/"},
        "headers": [{"name": "X-Env", "type": "RegularExpression", "value": "can.*"}],
        "queryParams": [{"name": "debug", "value": "1"}],
    }
    w = world(
        gateway(),
        service("v1"),
        route(rules=[{"matches": [match], "backendRefs": [backend("v1")]}]),
    )
    assert _routes(w)[0]["match"] == {
        "path_separated_prefix": "/api",
        "headers": [{"name": "x-env", "string_match": {"safe_regex": {"regex": "can.*"}}}],
        "query_parameters": [{"name": "debug", "string_match": {"exact": "1"}}],
    }


def test_a_specific_hostname_gets_its_rules_first_then_those_of_routes_for_any_host() -> None:
    rules = [{"backendRefs": [backend("v1")]}]
    w = world(
        gateway(),
        service("v1"),
        route("specific", rules=rules, hostnames=["app.example.com"]),
        route("any", rules=rules),
        route("wild", rules=rules, hostnames=["*.example.com"]),
    )
    names = {
        host: [r["name"].split("/")[1] for r in _routes(w, host)]
        for host in ("app.example.com", "*.example.com", "*")
    }
    assert names == {
        "app.example.com": ["specific", "wild", "any"],
        "*.example.com": ["wild", "any"],
        "*": ["any"],
    }


def test_request_and_response_header_modifiers_map_to_envoy_header_fields() -> None:
    filters = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": "x-set", "value": "1"}],
                "add": [{"name": "x-add", "value": "2"}],
                "remove": ["x-drop"],
            },
        },
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["server"]}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "v1", "port": 80}}},
    ]
    w = world(
        gateway(),
        service("v1"),
        route(rules=[{"filters": filters, "backendRefs": [backend("v1")]}]),
    )
    envoy_route = _routes(w)[0]
    assert envoy_route["request_headers_to_add"] == [
        {"header": {"key": "x-set", "value": "1"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": "x-add", "value": "2"}, "append_action": "APPEND_IF_EXISTS_OR_ADD"},
    ]
    assert envoy_route["request_headers_to_remove"] == ["x-drop"]
    assert envoy_route["response_headers_to_remove"] == ["server"]
    assert "request_mirror_policies" not in envoy_route["route"]


def test_endpoints_that_are_not_ready_are_left_out() -> None:
    w = world(
        gateway(),
        service("v1"),
        endpoint_slice("v1", addresses=["10.1.1.1"], port=8080, ready=False),
        route(rules=[{"backendRefs": [backend("v1")]}]),
    )
    cluster = translate(w, {LISTENER: 1}).clusters["infra/v1/80"]
    assert cluster["load_assignment"]["endpoints"] == [{"lb_endpoints": []}]


def test_a_route_the_gateway_does_not_admit_adds_no_routes() -> None:
    w = world(
        gateway(),
        service("v1", "apps"),
        route(namespace="apps", rules=[{"backendRefs": [backend("v1")]}]),
    )
    assert _routes(w) == []  # only the default virtual host, answering 404


def test_listeners_exist_only_for_supported_protocols_and_names_drop_dots() -> None:
    https = {"name": "https", "port": 443, "protocol": "HTTPS"}
    http = {"name": "http", "port": 8080, "protocol": "HTTP"}
    w = world(gateway("my.gw", listeners=[https, http]))
    assert listener_names(w) == ["infra/my_gw/8080"]
    assert listener_name(("infra", "my.gw"), 8080) == "infra/my_gw/8080"
