"""The operator observes routes from its caches: a Gateway missing from a watched namespace is
`GatewayNotFound`; one in a namespace a namespace-scoped operator does not watch is unseen,
never called missing."""

from __future__ import annotations

from typing import Any

import pytest

from canary.controller.clock import VirtualClock
from canary.controller.manager import Manager
from canary.controller.queue import Key
from canary.controller.result import Done, Result
from canary.controller.routes import CacheReader, observe
from canary.controller.settings import OperatorSettings
from canary.kube.resources import GATEWAY, HTTPROUTE, REFERENCEGRANT, SERVICE, JsonObj
from canary.routers import BackendKey, RouteKey, RouteTarget

pytestmark = pytest.mark.unit

GW = "gateway.networking.k8s.io"
TARGET = RouteTarget(RouteKey("shop", "web"), BackendKey("stable", 80), BackendKey("canary", 80))


def manager(*namespaces: str) -> Manager:
    async def reconcile(key: Key) -> Result:
        return Done()

    def make(*_: Any) -> Any:
        return reconcile

    settings = OperatorSettings(namespaces=namespaces)
    return Manager(object(), settings, clock=VirtualClock(),  # type: ignore[arg-type]
                   make_reconciler=make)


def route(parent: JsonObj, *status_parents: JsonObj) -> JsonObj:
    return {
        "kind": "HTTPRoute",
        "metadata": {"namespace": "shop", "name": "web", "resourceVersion": "1", "generation": 1},
        "spec": {
            "parentRefs": [parent],
            "rules": [{"backendRefs": [{"name": "stable", "port": 80, "weight": 100},
                                       {"name": "canary", "port": 80, "weight": 0}]}],
        },
        "status": {"parents": list(status_parents)},
    }


def accepted(parent: JsonObj) -> JsonObj:
    return {
        "parentRef": {"group": GW, "kind": "Gateway", **parent},
        "controllerName": "example.com/gateway",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                       {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}],
    }


def fill(m: Manager, r: JsonObj) -> None:
    m.caches.upsert(HTTPROUTE, r)
    for name in ("stable", "canary"):
        m.caches.upsert(SERVICE, {"metadata": {"namespace": "shop", "name": name,
                                               "resourceVersion": "1"}})


def test_the_cache_reader_sees_only_the_watched_namespaces() -> None:
    scoped, everywhere = CacheReader(manager("shop").caches), CacheReader(manager().caches)
    assert scoped.sees(GATEWAY, "shop") and not scoped.sees(GATEWAY, "infra")
    assert everywhere.sees(GATEWAY, "infra")


async def test_a_gateway_missing_from_a_watched_namespace_is_gateway_not_found() -> None:
    m = manager("shop")
    fill(m, route({"name": "edge"}))
    [issue] = (await observe(m.caches, TARGET)).issues
    assert issue.reason == "GatewayNotFound" and "Gateway edge in namespace shop" in issue.message


async def test_a_gateway_in_an_unwatched_namespace_is_trusted_to_its_controller() -> None:
    m = manager("shop")
    parent = {"name": "public", "namespace": "infra"}
    fill(m, route(parent, accepted(parent)))
    assert (await observe(m.caches, TARGET)).attached
    fill(m, {**route(parent), "metadata": {**route(parent)["metadata"], "resourceVersion": "2"}})
    [issue] = (await observe(m.caches, TARGET)).issues
    assert issue.reason == "NoParentStatus" and "does not watch namespace infra" in issue.message


def cross_namespace(resolved: JsonObj, version: str = "1") -> JsonObj:
    parent = {"name": "public", "namespace": "infra"}  # unwatched: trusted to its controller
    r = route(parent, accepted(parent))
    r["metadata"]["resourceVersion"] = version
    r["spec"]["rules"][0]["backendRefs"][1]["namespace"] = "canaries"
    r["status"]["parents"][0]["conditions"][1] = resolved
    return r


CROSS = RouteTarget(
    RouteKey("shop", "web"), BackendKey("stable", 80), BackendKey("canary", 80, "canaries")
)
RESOLVED = {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}
REFUSED = {"type": "ResolvedRefs", "status": "False", "reason": "RefNotPermitted"}


async def test_grants_in_a_watched_namespace_are_judged_by_the_operator() -> None:
    m = manager("shop", "canaries")
    fill(m, cross_namespace(RESOLVED))
    [issue] = (await observe(m.caches, CROSS)).issues
    assert issue.reason == "RefNotPermitted" and "kubectl apply" in issue.message
    m.caches.upsert(REFERENCEGRANT, {
        "metadata": {"namespace": "canaries", "name": "allow", "resourceVersion": "1"},
        "spec": {"from": [{"group": GW, "kind": "HTTPRoute", "namespace": "shop"}],
                 "to": [{"group": "", "kind": "Service"}]},
    })
    assert (await observe(m.caches, CROSS)).attached


async def test_grants_in_an_unwatched_namespace_are_left_to_the_controller() -> None:
    m = manager("shop")
    fill(m, cross_namespace(RESOLVED))
    assert (await observe(m.caches, CROSS)).attached  # not "no grant": grants unseen
    fill(m, cross_namespace(REFUSED, version="2"))
    [issue] = (await observe(m.caches, CROSS)).issues
    assert issue.reason == "RefNotPermitted"
    assert "does not watch namespace canaries" in issue.message
