"""A changed route requeues exactly the Canaries that reference it, found by index."""

from __future__ import annotations

from typing import Any

import pytest

from canary.controller.clock import VirtualClock
from canary.controller.manager import Manager
from canary.controller.queue import Key, key_of
from canary.controller.result import Done, Result
from canary.controller.settings import OperatorSettings
from canary.kube.resources import CANARY, JsonObj
from canary.routers.refs import RouteKey
from canary.routers.registry import ROUTE_RESOURCES

pytestmark = pytest.mark.unit


def canary(namespace: str, name: str, route: str, kind: str = "HTTPRoute") -> JsonObj:
    return {"kind": "Canary", "metadata": {"namespace": namespace, "name": name},
            "spec": {"routeRef": {"name": route, "kind": kind}}}


def route(namespace: str, name: str, kind: str = "HTTPRoute") -> JsonObj:
    return {"kind": kind, "metadata": {"namespace": namespace, "name": name}}


def manager() -> Manager:
    async def reconcile(key: Key) -> Result:
        return Done()

    def make(*_: Any) -> Any:
        return reconcile

    return Manager(object(), OperatorSettings(), clock=VirtualClock(),  # type: ignore[arg-type]
                   make_reconciler=make)


async def test_a_route_change_concerns_only_the_canaries_that_reference_it() -> None:
    m = manager()
    await m._on_canary(None, canary("a", "one", "web"))
    await m._on_canary(None, canary("a", "two", "web"))
    await m._on_canary(None, canary("a", "three", "api"))
    await m._on_canary(None, canary("b", "four", "web"))
    await m._on_canary(None, canary("a", "rpc", "web", kind="GRPCRoute"))
    assert m.canaries_concerned(route("a", "web")) == [key_of("a", "one"), key_of("a", "two")]
    # Same namespace and name, another kind: indexed apart (the kind is part of the key).
    assert m.caches.by_route[RouteKey("a", "web", "GRPCRoute")] == {key_of("a", "rpc")}
    assert m.canaries_concerned(route("c", "web")) == []


async def test_a_canary_pointed_at_another_route_leaves_the_old_index_entry() -> None:
    m = manager()
    before = canary("a", "one", "web")
    await m._on_canary(None, before)
    await m._on_canary(before, canary("a", "one", "api"))
    assert m.canaries_concerned(route("a", "web")) == []
    assert m.canaries_concerned(route("a", "api")) == [key_of("a", "one")]
    await m._on_canary(canary("a", "one", "api"), None)
    assert m.canaries_concerned(route("a", "api")) == []
    await m.stop()


def test_the_manager_watches_exactly_the_route_kinds_of_the_router_registry() -> None:
    watched = set(manager().caches.by_kind)
    routes = {r.plural for r in ROUTE_RESOURCES.values()}
    assert routes <= watched
    assert "grpcroutes" not in watched  # a cluster without that CRD must still start


def test_a_service_change_concerns_the_canaries_whose_backends_live_in_its_namespace() -> None:
    m = manager()
    home = canary("a", "home", "web")
    cross = canary("a", "cross", "web")
    cross["spec"]["canary"] = {"name": "web-v2", "port": 80, "namespace": "b"}
    elsewhere = canary("c", "other", "web")
    for obj in (home, cross, elsewhere):
        m.caches.upsert(CANARY, obj)
    service: JsonObj = {"kind": "Service", "metadata": {"namespace": "b", "name": "web-v2"}}
    assert m.canaries_concerned(service) == [key_of("a", "cross")]
    service = {"kind": "Service", "metadata": {"namespace": "a", "name": "web-v1"}}
    assert sorted(m.canaries_concerned(service)) == [key_of("a", "cross"), key_of("a", "home")]


def workload_canary(namespace: str, name: str, deployment: str, hpa: str | None = None) -> JsonObj:
    workload: JsonObj = {"name": deployment, "port": 80}
    if hpa:
        workload["autoscalerRef"] = {"name": hpa}
    return {"kind": "Canary", "metadata": {"namespace": namespace, "name": name},
            "spec": {"routeRef": {"name": "web"}, "workload": workload}}


def test_a_deployment_requeues_the_canaries_that_name_it_or_own_its_primary() -> None:
    m = manager()
    c = workload_canary("a", "one", "app", hpa="app-hpa")
    m.caches.index_canary(None, c)
    m.caches.by_kind[CANARY.plural][0].upsert(c)
    deployment = {"kind": "Deployment", "metadata": {"namespace": "a", "name": "app"}}
    primary = {"kind": "Deployment", "metadata": {"namespace": "a", "name": "app-primary"}}
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"namespace": "a", "name": "app-hpa"}}
    elsewhere = {"kind": "Deployment", "metadata": {"namespace": "b", "name": "app"}}
    assert m.canaries_concerned(deployment) == [key_of("a", "one")]
    assert m.canaries_concerned(primary) == [key_of("a", "one")]
    assert m.canaries_concerned(hpa) == [key_of("a", "one")]
    assert m.canaries_concerned(elsewhere) == []
    m.caches.index_canary(c, workload_canary("a", "one", "api"))
    api = {"kind": "Deployment", "metadata": {"namespace": "a", "name": "api"}}
    assert m.canaries_concerned(api) == [key_of("a", "one")]


def test_deployments_are_watched_only_in_workload_mode() -> None:
    assert "deployments" not in manager().caches.by_kind

    async def reconcile(key: Key) -> Result:
        return Done()

    m = Manager(object(), OperatorSettings(workloads=True), clock=VirtualClock(),  # type: ignore[arg-type]
                make_reconciler=lambda *_: reconcile)
    assert {"deployments", "horizontalpodautoscalers"} <= set(m.caches.by_kind)
