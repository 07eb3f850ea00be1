"""A list-and-watch cache of one resource kind across all namespaces, for the node agent.

It relists on 410 Gone and reconnects dropped watches with capped exponential backoff; it only
keeps objects and signals changes, and never decides anything about them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import structlog

from canary.kube.errors import Gone, KubeError
from canary.kube.resources import JsonObj, Resource

Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects


def key_of(obj: JsonObj) -> Key:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta["name"])

log = structlog.get_logger(__name__)


class ListWatcher(Protocol):
    """The part of `canary.kube.client.Kube` a `ResourceWatch` uses."""

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[list[JsonObj], str]: ...

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[tuple[str, JsonObj]]: ...


class ResourceWatch:
    """Keeps `store` equal to the API server's objects of `resource`; calls `on_change` after
    every update. `synced` is set after the first complete list."""

    def __init__(
        self,
        kube: ListWatcher,
        resource: Resource,
        on_change: Callable[[], None],
        *,
        max_backoff: float = 5.0,
        watch_seconds: int = 240,
    ) -> None:
        self._kube, self.resource, self._on_change = kube, resource, on_change
        self._max_backoff, self._watch_seconds = max_backoff, watch_seconds
        self.store: dict[Key, JsonObj] = {}
        self.synced = asyncio.Event()

    async def run(self) -> None:
        """Forever: list, then watch from the list's resourceVersion; cancel to stop."""
        delay = 0.1
        while True:
            try:
                items, version = await self._kube.list(self.resource)
                self.store = {key_of(item): item for item in items}
                self.synced.set()
                self._on_change()
                delay = 0.1
                while True:  # a watch that ends on its timeout resumes from the last version
                    version = await self._watch(version)
            except Gone:
                log.info("watch expired, relisting", resource=self.resource.plural)
            except KubeError as exc:
                log.warning(
                    "watch failed, retrying",
                    resource=self.resource.plural,
                    error=str(exc),
                    delay=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)

    async def _watch(self, version: str) -> str:
        events = self._kube.watch(
            self.resource, resource_version=version, timeout_seconds=self._watch_seconds
        )
        async for kind, obj in events:
            version = str(obj.get("metadata", {}).get("resourceVersion") or version)
            if kind == "BOOKMARK":
                continue
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)
            if kind == "DELETED":
                self.store.pop(key_of(obj), None)
            else:
                self.store[key_of(obj)] = obj
            self._on_change()
        return version
