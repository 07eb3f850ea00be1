"""Follow one Canary through the API's watch: its current state, then every change, until the
caller stops. Relists when the watch's resourceVersion is gone, reconnects after a drop.

I/O only, no judgement; `wait` and `watch` decide what each state means.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from canary.kube.errors import Gone, Unavailable
from canary.kube.resources import CANARY, JsonObj, Resource

RECONNECT_DELAY = 1.0
WATCH_SECONDS = 240


class CanaryReader(Protocol):
    """The part of `canary.kube.client.Kube` following needs."""

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[builtins.list[JsonObj], str]: ...

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[tuple[str, JsonObj]]: ...


def _named(obj: JsonObj, name: str) -> bool:
    return bool(obj.get("metadata", {}).get("name") == name)


async def follow(
    api: CanaryReader, namespace: str, name: str, *, reconnect_delay: float = RECONNECT_DELAY
) -> AsyncGenerator[JsonObj | None, None]:
    """The Canary now (None: absent), then after every change (None: deleted).

    A failure of the first read is raised (a wrong kubeconfig fails fast); later the API
    being unavailable only delays the next read."""
    items, version = await api.list(CANARY, namespace)
    yield next((item for item in items if _named(item, name)), None)
    while True:
        try:
            if not version:
                items, version = await api.list(CANARY, namespace)
                yield next((item for item in items if _named(item, name)), None)
            async for kind, obj in api.watch(
                CANARY, namespace, resource_version=version, timeout_seconds=WATCH_SECONDS
            ):
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if kind == "BOOKMARK" or not _named(obj, name):
                    continue
                yield None if kind == "DELETED" else obj
        except Gone:
            version = ""  # too old to resume from: list again
        except Unavailable:
            version = ""  # we may have missed changes while disconnected
            await asyncio.sleep(reconnect_delay)
