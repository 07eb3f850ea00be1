"""The reconciler's write order, against an in-memory API whose route patches can be made to
fail: every status write is checked against the route as it stood at that moment.

A rollback records `RollingBack` before any traffic moves, and `RolledBack` only once the route
shows 0 %. If the route write fails, the status must never say `RolledBack` (the integration
test reads the weights only after `RolledBack` appears, so it could not tell the order).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pytest
from harness.fakes import MemoryObjects
from harness.jsonpatch import PatchTestFailed, apply_patch

from canary.api.spec import CanarySpec
from canary.api.status import Phase
from canary.controller.clock import VirtualClock
from canary.controller.manager import Manager
from canary.controller.queue import Key, key_of
from canary.controller.reconciler import Reconciler
from canary.controller.result import Done, Result, TemporaryError
from canary.controller.settings import OperatorSettings
from canary.core.observations import MetricSample
from canary.kube.errors import Conflict, NotFound, Unavailable
from canary.kube.resources import CANARY, HTTPROUTE, SERVICE, JsonObj, Resource
from canary.providers.sampler import GateSampler

pytestmark = pytest.mark.unit

NS = "shop"
PARENT = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra",
          "name": "public"}  # a namespace this operator does not watch: trusted to its controller


@dataclass
class StatusWrite:
    phase: str
    route_canary_weight: int  # what the route carried when this status was written


@dataclass
class MemoryApi(MemoryObjects):
    """The calls a reconcile makes, on objects kept in memory; JSON Patches with `test` ops."""

    fail_route_patches: bool = False
    status_writes: list[StatusWrite] = field(default_factory=list)

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> JsonObj:
        found = await self.get_or_none(res, name, namespace)
        if found is None:
            raise NotFound(f"{res.plural} {namespace}/{name} not found", status=404)
        return found

    async def patch(
        self, res: Resource, name: str, body: Any, *, namespace: str | None = None,
        patch_type: str = "merge", subresource: str | None = None,
    ) -> JsonObj:
        obj = await self.get(res, name, namespace)
        if res is HTTPROUTE and self.fail_route_patches:
            raise Unavailable("the API server is unavailable (route write)", status=503)
        if patch_type == "merge":
            obj["metadata"].update(body["metadata"])
        else:
            try:
                obj = apply_patch(obj, body)
            except PatchTestFailed as exc:
                raise Conflict(f"test of {exc} failed", status=422) from exc
        written = self.put(res, obj)
        if subresource == "status":
            self.status_writes.append(StatusWrite(obj["status"]["phase"], self.route_weight()))
        return written

    async def create(self, res: Resource, body: JsonObj, namespace: str | None = None) -> JsonObj:
        return body  # Events: recorded by the event sink below, not needed here

    def route_weight(self) -> int:
        route = self.objects[(HTTPROUTE.plural, NS, "web")]
        refs = route["spec"]["rules"][0]["backendRefs"]
        return int(next(r["weight"] for r in refs if r["name"] == "canary"))


@dataclass
class Events:
    said: list[str] = field(default_factory=list)

    async def emit(self, obj: JsonObj, *, type: str, reason: str, message: str) -> None:
        self.said.append(reason)


class Gates(GateSampler):
    """The metric gate's value, set by the test."""

    value = 100.0

    async def sample(
        self, namespace: str, name: str, spec: CanarySpec, *, only: Collection[str] | None = None
    ) -> tuple[tuple[MetricSample, ...], MetricSample | None]:
        return (MetricSample.of("success", self.value),), None


def canary(kind: str = "HTTPRoute") -> JsonObj:
    return {
        "metadata": {"namespace": NS, "name": "web", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "routeRef": {"name": "web", "kind": kind},
            "stable": {"name": "stable", "port": 80},
            "canary": {"name": "canary", "port": 80},
            "steps": {"weights": [20, 40, 60, 80], "interval": "1m"},
            "analysis": {"failureThreshold": 1, "metrics": [
                {"name": "success", "query": "vector(1)", "min": 99}]},
        },
    }


def route() -> JsonObj:
    return {
        "metadata": {"namespace": NS, "name": "web", "generation": 1},
        "spec": {
            "parentRefs": [PARENT],
            "rules": [{"backendRefs": [{"name": "stable", "port": 80, "weight": 100},
                                       {"name": "canary", "port": 80, "weight": 0}]}],
        },
        "status": {"parents": [{
            "parentRef": PARENT,
            "controllerName": "example.com/gateway",
            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                           {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}],
        }]},
    }


class Cluster:
    """The API, the operator's caches over it (filled as its informers would), one reconciler."""

    def __init__(self, kind: str = "HTTPRoute") -> None:
        self.api, self.events, self.clock = MemoryApi(), Events(), VirtualClock()

        async def idle(key: Key) -> Result:
            return Done()

        settings = OperatorSettings(namespaces=(NS,))
        self.manager = Manager(self.api, settings, clock=self.clock,  # type: ignore[arg-type]
                               make_reconciler=lambda *_: idle)
        self.caches = self.manager.caches
        self.gates = Gates(self.api, default_address="http://127.0.0.1:9")
        self.reconcile = Reconciler(kube=self.api, caches=self.caches,  # type: ignore[arg-type]
                                    sampler=self.gates, events=self.events, clock=self.clock)
        self.caches.upsert(HTTPROUTE, self.api.put(HTTPROUTE, route()))
        for name in ("stable", "canary"):
            self.caches.upsert(SERVICE, self.api.put(SERVICE, {"metadata": {
                "namespace": NS, "name": name}}))
        self.caches.upsert(CANARY, self.api.put(CANARY, canary(kind)))

    async def tick(self, seconds: float = 60) -> None:
        """Let time pass, then one reconcile of the Canary (a retry request is swallowed, as
        the work queue would retry it)."""
        await self.clock.advance(seconds)
        with contextlib.suppress(TemporaryError):
            await self.reconcile(key_of(NS, "web"))

    def phase(self) -> str:
        return str(self.api.objects[(CANARY.plural, NS, "web")].get("status", {}).get("phase"))


async def test_a_failed_route_write_while_rolling_back_never_lets_the_status_say_rolled_back(
) -> None:
    cluster = Cluster()
    for _ in range(4):
        await cluster.tick()
        if cluster.api.route_weight() > 0:
            break
    assert cluster.phase() == Phase.PROGRESSING and cluster.api.route_weight() == 20

    cluster.gates.value = 50.0  # the gate fails from now on
    cluster.api.fail_route_patches = True
    for _ in range(3):
        await cluster.tick()
    assert cluster.phase() == Phase.ROLLING_BACK, cluster.api.status_writes
    assert cluster.api.route_weight() == 20  # every 0 % write failed
    assert "RouteWriteFailed" in cluster.events.said

    cluster.api.fail_route_patches = False
    for _ in range(3):
        await cluster.tick()
    assert cluster.api.route_weight() == 0
    assert cluster.phase() == Phase.ROLLED_BACK
    # The order, write by write: RolledBack was only ever written over a route at 0 %.
    rolled_back = [w for w in cluster.api.status_writes if w.phase == Phase.ROLLED_BACK]
    assert rolled_back and all(w.route_canary_weight == 0 for w in rolled_back)
    rolling_back = [w for w in cluster.api.status_writes if w.phase == Phase.ROLLING_BACK]
    assert rolling_back[0].route_canary_weight == 20  # recorded before any traffic moved


async def test_a_route_kind_no_router_drives_is_an_invalid_spec_and_nothing_moves() -> None:
    cluster = Cluster(kind="GRPCRoute")
    await cluster.tick()
    status = cluster.api.objects[(CANARY.plural, NS, "web")]["status"]
    assert status["phase"] == Phase.FAILED
    invalid = next(c for c in status["conditions"] if c["type"] == "InvalidSpec")
    assert (invalid["status"], invalid["reason"]) == ("True", "UnsupportedRouteKind")
    assert "HTTPRoute.gateway.networking.k8s.io" in invalid["message"]
    assert cluster.api.route_weight() == 0
    assert "InvalidSpec" in cluster.events.said
