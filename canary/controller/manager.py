"""Wires the control loop together: informers feed the queue, workers run the reconciler.

It maps every change of a watched object to the Canary keys it concerns (a route change to the
Canaries that reference it) and owns start-up and shutdown order. It makes no decisions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from canary.controller.caches import Caches
from canary.controller.clock import Clock
from canary.controller.informer import Informer
from canary.controller.queue import Key, WorkQueue, key_of
from canary.controller.settings import OperatorSettings
from canary.controller.workers import Reconcile, run_workers
from canary.kube.client import Kube
from canary.kube.resources import (
    CANARY,
    DEPLOYMENT,
    GATEWAY,
    GATEWAYCLASS,
    HPA,
    INGRESS,
    REFERENCEGRANT,
    SERVICE,
    JsonObj,
    Resource,
)
from canary.routers.refs import RouteKey
from canary.routers.registry import ROUTE_RESOURCES
from canary.routers.target import route_of

log = structlog.get_logger("canary.manager")


WATCHED_FOR_ROUTES = (*ROUTE_RESOURCES.values(), SERVICE, REFERENCEGRANT, GATEWAY)
CLUSTER_WIDE = (GATEWAYCLASS, INGRESS)  # read wherever they are: classes, conflicting hosts
WATCHED_FOR_WORKLOADS = (DEPLOYMENT, HPA)  # workload mode only (`settings.workloads`)


class Manager:
    """Runs informers and workers for one operator process."""

    def __init__(
        self,
        kube: Kube,
        settings: OperatorSettings,
        *,
        clock: Clock,
        make_reconciler: Callable[[Caches, WorkQueue], Reconcile],
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.clock = clock
        self.queue = WorkQueue(clock)
        self.caches = Caches()
        self._reconcile = make_reconciler(self.caches, self.queue)
        namespaces: list[str | None] = list(settings.namespaces) or [None]
        self._add(CANARY, namespaces, self._on_canary, selector=settings.label_selector)
        for resource in WATCHED_FOR_ROUTES:
            self._add(resource, namespaces, self._on_related)
        for resource in CLUSTER_WIDE:
            self._add(resource, [None], self._on_related)
        if settings.workloads:
            for resource in WATCHED_FOR_WORKLOADS:
                self._add(resource, namespaces, self._on_related)

    def _add(
        self,
        resource: Resource,
        namespaces: list[str | None],
        handler: Callable[[JsonObj | None, JsonObj | None], Awaitable[None]],
        selector: str | None = None,
    ) -> None:
        informers = self.caches.by_kind.setdefault(resource.plural, [])
        for namespace in namespaces if resource.namespaced else [None]:
            informers.append(
                Informer(
                    self.kube,
                    resource,
                    clock=self.clock,
                    on_change=handler,
                    namespace=namespace,
                    label_selector=selector,
                )
            )

    async def _on_canary(self, old: JsonObj | None, new: JsonObj | None) -> None:
        obj = new or old
        if obj is None:
            return
        meta = obj["metadata"]
        key = key_of(meta["namespace"], meta["name"])
        self.caches.index_canary(old, new)
        await self.queue.add(key)
        if _claim_changed(old, new):  # who owns the route's weights may have changed
            for route in {route_of(o) for o in (old, new) if o is not None}:
                for other in self.caches.by_route.get(route, set()) - {key}:
                    await self.queue.add(other)

    async def _on_related(self, old: JsonObj | None, new: JsonObj | None) -> None:
        """A route/Service/Gateway/... changed: requeue the Canaries it may concern."""
        for key in self.canaries_concerned(new or old):
            await self.queue.add(key)

    def canaries_concerned(self, obj: JsonObj | None) -> list[Key]:
        """A route change concerns the Canaries that reference it (an index lookup, so a busy
        route never costs a scan of thousands of Canaries); a Service change concerns the
        Canaries whose backends may live in its namespace (their own, or one a backend names);
        a Deployment or HPA change (workload mode) concerns the Canaries naming it (an index);
        Gateways, classes, grants and Ingresses are rare: all Canaries."""
        if obj is None:
            return []
        kind = str(obj.get("kind", ""))
        namespace = str(obj.get("metadata", {}).get("namespace", ""))
        name = str(obj.get("metadata", {}).get("name", ""))
        if kind in ROUTE_RESOURCES:
            return sorted(self.caches.by_route.get(RouteKey(namespace, name, kind), set()))
        if kind in (DEPLOYMENT.kind, HPA.kind):
            return self.caches.canaries_of_workload(namespace, name, hpa=kind == HPA.kind)
        if kind == "Service":
            return [
                key_of(c["metadata"]["namespace"], c["metadata"]["name"])
                for c in self.caches.items(CANARY)
                if namespace in _backend_namespaces(c)
            ]
        return [
            key_of(c["metadata"]["namespace"], c["metadata"]["name"])
            for c in self.caches.items(CANARY)
        ]

    async def run(self) -> None:
        """Start every informer, wait for the caches to fill, then work until cancelled."""
        async with asyncio.TaskGroup() as group:
            for informer in self.caches.all():
                group.create_task(informer.run(), name=f"informer-{informer.resource.plural}")
            for informer in self.caches.all():
                await informer.synced.wait()
            log.info("caches synced, starting workers", workers=self.settings.workers)
            group.create_task(
                run_workers(
                    self.queue,
                    self._reconcile,
                    count=self.settings.workers,
                    reconcile_timeout=self.settings.reconcile_timeout_seconds,
                    resync=self.settings.resync_seconds,
                ),
                name="workers",
            )

    async def stop(self) -> None:
        await self.queue.shutdown()


def _claim_changed(old: JsonObj | None, new: JsonObj | None) -> bool:
    """Created, deleted, or its route or backends changed (a status write changes none)."""
    if old is None or new is None:
        return True
    fields = ("routeRef", "stable", "canary", "workload")
    return any(old.get("spec", {}).get(f) != new.get("spec", {}).get(f) for f in fields)


def _backend_namespaces(canary: JsonObj) -> set[str]:
    """The namespaces a Canary's backends live in (read leniently, as `route_of` does)."""
    own = str(canary["metadata"]["namespace"])
    spec = canary.get("spec") or {}
    named = {str((spec.get(role) or {}).get("namespace") or own) for role in ("stable", "canary")}
    return {own, *named}
