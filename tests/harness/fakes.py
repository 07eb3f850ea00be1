"""A scripted stand-in for the list and watch calls of `Kube`, for the unit tests of what lists
and watches (informers, `canary get --watch`)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable
from typing import Any

from canary.kube.resources import JsonObj, Resource


class ScriptedApi:
    """Each list returns the next listing (the last one again once they run out), at the
    resourceVersion `version(n)` of the n-th list. Each watch plays the next script: events
    yielded in order, an exception raised where it stands; a script that is itself an exception
    is raised at once, and "block" (also once the scripts run out) never returns.

    Counts the lists (`lists`) and records the version every watch started from."""

    def __init__(
        self,
        listings: builtins.list[builtins.list[JsonObj]],
        watches: builtins.list[Any],
        *,
        version: Callable[[int], str] = lambda n: f"list-{n}",
    ) -> None:
        self.listings, self.watches, self.version = listings, watches, version
        self.lists = 0
        self.watched_from: builtins.list[str] = []

    async def list(
        self, res: Resource, namespace: str | None = None, **_: Any
    ) -> tuple[builtins.list[JsonObj], str]:
        items = self.listings[min(self.lists, len(self.listings) - 1)]
        self.lists += 1
        return items, self.version(self.lists)

    async def watch(
        self, res: Resource, namespace: str | None = None, *, resource_version: str, **_: Any
    ) -> AsyncIterator[tuple[str, JsonObj]]:
        """(`label_selector` and `timeout_seconds` are accepted and ignored.)"""
        self.watched_from.append(resource_version)
        script: Any = self.watches.pop(0) if self.watches else "block"
        if script == "block":
            await asyncio.Event().wait()
        if isinstance(script, Exception):
            raise script
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield step
