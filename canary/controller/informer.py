"""List + watch one resource into an in-memory cache and report every change.

Reconcilers read the watched kinds from this cache, not from the API server. The informer
relists when the server says 410 Gone and reconnects dropped watches with a short backoff (at
most 4 s, so the operator resumes within seconds of an API server's return); it never decides
anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from canary.controller.clock import Clock
from canary.kube.client import Kube
from canary.kube.errors import Gone, KubeError
from canary.kube.resources import JsonObj, Resource

ObjKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
Handler = Callable[[JsonObj | None, JsonObj | None], Awaitable[None]]  # (old, new)

log = structlog.get_logger("canary.informer")


def obj_key(obj: JsonObj) -> ObjKey:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


class Informer:
    """A cache of one resource kind (optionally one namespace / label selector)."""

    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        *,
        clock: Clock,
        on_change: Handler,
        namespace: str | None = None,
        label_selector: str | None = None,
        max_backoff: float = 4.0,
    ) -> None:
        self.resource = resource
        self._kube = kube
        self._clock = clock
        self._on_change = on_change
        self.namespace = namespace
        self._selector = label_selector
        self._max_backoff = max_backoff
        self._store: dict[ObjKey, JsonObj] = {}
        self.synced = asyncio.Event()
        self.restarts = 0

    def get(self, namespace: str, name: str) -> JsonObj | None:
        return self._store.get((namespace, name))

    def items(self, namespace: str | None = None) -> list[JsonObj]:
        return [o for (ns, _), o in self._store.items() if namespace is None or ns == namespace]

    def upsert(self, obj: JsonObj) -> None:
        """Write-through after our own write, so the next reconcile never reads an older copy.

        Ignored when the cache already holds a newer version (the watch got there first).
        """
        key = obj_key(obj)
        current = self._store.get(key)
        if current is None or _newer(obj, current):
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)
            self._store[key] = obj

    async def run(self) -> None:
        """List, then watch forever; relist on Gone, back off on connection trouble."""
        failures = 0
        resource_version = ""
        while True:
            try:
                if not resource_version:
                    resource_version = await self._relist()
                async for kind, obj in self._kube.watch(
                    self.resource,
                    self.namespace,
                    resource_version=resource_version,
                    label_selector=self._selector,
                ):
                    failures = 0
                    resource_version = str(obj.get("metadata", {}).get("resourceVersion", ""))
                    await self._apply(kind, obj)
                # The server closed the watch at its timeout: resume from the same version.
            except Gone:
                self.restarts += 1
                log.info("watch expired, relisting", resource=self.resource.plural)
                resource_version = ""
            except KubeError as exc:
                self.restarts += 1
                failures += 1
                delay = min(self._max_backoff, 0.5 * 2 ** min(failures, 10))
                log.warning(
                    "watch failed, retrying",
                    resource=self.resource.plural,
                    error=str(exc),
                    retry_in=delay,
                )
                await self._clock.sleep(delay)
                if exc.status in (401, 403, 404):
                    resource_version = ""

    async def _relist(self) -> str:
        items, resource_version = await self._kube.list(
            self.resource, self.namespace, label_selector=self._selector
        )
        fresh = {obj_key(obj): obj for obj in items}
        old_store, self._store = self._store, fresh
        for key, obj in fresh.items():
            old = old_store.get(key)
            if old is None or _rv(old) != _rv(obj):
                await self._on_change(old, obj)
        for key, old in old_store.items():
            if key not in fresh:
                await self._on_change(old, None)
        self.synced.set()
        return resource_version

    async def _apply(self, kind: str, obj: JsonObj) -> None:
        if kind == "BOOKMARK":
            return
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        key = obj_key(obj)
        old = self._store.get(key)
        if kind == "DELETED":
            self._store.pop(key, None)
            await self._on_change(old, None)
        else:
            self._store[key] = obj
            await self._on_change(old, obj)


def _rv(obj: JsonObj) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


def _newer(candidate: JsonObj, current: JsonObj) -> bool:
    """resourceVersions are opaque, but etcd-backed servers use integers; compare those."""
    a, b = _rv(candidate), _rv(current)
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return a != b
