"""Wires the control loop together: informers feed the queue, workers run the reconciler.

It maps every change of a watched object to the Canary keys it concerns (a route change to the
Canaries that reference it) and owns start-up and shutdown order. It makes no decisions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from canary.controller.clock import Clock
from canary.controller.informer import Informer
from canary.controller.queue import Key, WorkQueue, key_of, split_key
from canary.controller.settings import OperatorSettings
from canary.controller.workers import Reconcile, run_workers
from canary.kube.client import Kube
from canary.kube.resources import (
    CANARY,
    GATEWAY,
    GATEWAYCLASS,
    GRPCROUTE,
    HTTPROUTE,
    INGRESS,
    REFERENCEGRANT,
    SERVICE,
    JsonObj,
    Resource,
)

log = structlog.get_logger("canary.manager")
RouteKey = tuple[str, str, str]  # namespace, kind, name


@dataclass
class Caches:
    """Every cache a reconcile reads from, one informer per kind (and per watched namespace)."""

    by_kind: dict[str, list[Informer]] = field(default_factory=dict)
    by_route: dict[RouteKey, set[Key]] = field(default_factory=dict)
    """The Canaries that name each route, kept by the manager from the Canary watch."""

    def index_canary(self, old: JsonObj | None, new: JsonObj | None) -> None:
        """Move a Canary's key from the route it named (`old`) to the one it names (`new`)."""
        if old is not None:
            self.by_route.get(route_of(old), set()).discard(_key(old))
        if new is not None:
            self.by_route.setdefault(route_of(new), set()).add(_key(new))

    def canaries_on(self, route: RouteKey) -> list[JsonObj]:
        """The cached Canaries that name `route` (namespace, kind, name)."""
        found = (self.get(CANARY, *split_key(k)) for k in sorted(self.by_route.get(route, ())))
        return [obj for obj in found if obj is not None]

    def get(self, resource: Resource, namespace: str, name: str) -> JsonObj | None:
        for informer in self.by_kind.get(resource.plural, []):
            found = informer.get(namespace if resource.namespaced else "", name)
            if found is not None:
                return found
        return None

    def items(self, resource: Resource, namespace: str | None = None) -> list[JsonObj]:
        return [
            obj
            for informer in self.by_kind.get(resource.plural, [])
            for obj in informer.items(namespace)
        ]

    def upsert(self, resource: Resource, obj: JsonObj) -> None:
        """Write our own write's result through to the cache that holds the object."""
        namespace = obj.get("metadata", {}).get("namespace")
        for informer in self.by_kind.get(resource.plural, []):
            if informer.namespace in (None, namespace):
                informer.upsert(obj)
                return

    def all(self) -> list[Informer]:
        return [informer for informers in self.by_kind.values() for informer in informers]


WATCHED_FOR_ROUTES = (HTTPROUTE, GRPCROUTE, SERVICE, REFERENCEGRANT, GATEWAY)
CLUSTER_WIDE = (GATEWAYCLASS, INGRESS)  # read wherever they are: classes, conflicting hosts


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
        Canaries of its namespace; Gateways, classes and Ingresses are rare: all Canaries."""
        if obj is None:
            return []
        kind = str(obj.get("kind", ""))
        namespace = str(obj.get("metadata", {}).get("namespace", ""))
        name = str(obj.get("metadata", {}).get("name", ""))
        if kind in ("HTTPRoute", "GRPCRoute"):
            return sorted(self.caches.by_route.get((namespace, kind, name), set()))
        scope = namespace if kind == "Service" else None
        return [
            key_of(c["metadata"]["namespace"], c["metadata"]["name"])
            for c in self.caches.items(CANARY, scope)
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


def _key(canary: JsonObj) -> Key:
    return key_of(canary["metadata"]["namespace"], canary["metadata"]["name"])


def route_of(canary: JsonObj) -> RouteKey:
    """The route a Canary names: (namespace, kind, name)."""
    ref = canary.get("spec", {}).get("routeRef", {})
    namespace = str(canary["metadata"]["namespace"])
    return namespace, str(ref.get("kind", "HTTPRoute")), str(ref.get("name", ""))


def _claim_changed(old: JsonObj | None, new: JsonObj | None) -> bool:
    """Created, deleted, or its route or backends changed (a status write changes none)."""
    if old is None or new is None:
        return True
    fields = ("routeRef", "stable", "canary")
    return any(old.get("spec", {}).get(f) != new.get("spec", {}).get(f) for f in fields)
