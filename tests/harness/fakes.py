"""Stand-ins for `Kube` in unit tests: a scripted one for the list and watch calls (informers,
`canary get --watch`), and objects kept in memory for the tests of what reads and writes."""

from __future__ import annotations

import asyncio
import builtins
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from canary.kube.resources import JsonObj, Resource


@dataclass
class MemoryObjects:
    """Objects kept in memory by (plural, namespace, name), each write with the next
    resourceVersion; what goes in and comes out are copies. Subclasses add the write verbs a
    test needs."""

    objects: dict[tuple[str, str, str], JsonObj] = field(default_factory=dict)
    version: int = 0

    def put(self, res: Resource, obj: JsonObj) -> JsonObj:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("kind", res.kind)
        obj["metadata"]["resourceVersion"] = str(self.version)
        meta = obj["metadata"]
        self.objects[(res.plural, meta.get("namespace", ""), meta["name"])] = obj
        return copy.deepcopy(obj)

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        found = self.objects.get((res.plural, namespace or "", name))
        return copy.deepcopy(found) if found is not None else None


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
