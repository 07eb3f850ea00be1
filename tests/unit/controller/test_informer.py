"""The informer keeps its cache whole across expired and dropped watches.

The API here is a scripted stand-in (the real server's 410 needs an etcd compaction we cannot
time in a unit test); the same informer runs against the real API server in every
integration test of the operator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from canary.controller.clock import VirtualClock
from canary.controller.informer import Informer
from canary.kube.errors import Gone, Unavailable
from canary.kube.resources import CANARY, JsonObj

pytestmark = pytest.mark.unit


def obj(name: str, rv: str, **spec: Any) -> JsonObj:
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": rv}, "spec": spec}


class ScriptedApi:
    """Answers list() from `lists` and watch() from `watches`, one script entry per call."""

    def __init__(self, lists: list[list[JsonObj]], watches: list[list[Any]]) -> None:
        self.lists = lists
        self.watches = watches
        self.list_calls = 0
        self.watch_versions: list[str] = []
        self.done = asyncio.Event()

    async def list(self, res: object, namespace: str | None = None, *,
                   label_selector: str | None = None) -> tuple[list[JsonObj], str]:
        items = self.lists[min(self.list_calls, len(self.lists) - 1)]
        self.list_calls += 1
        return items, str(100 * self.list_calls)

    async def watch(self, res: object, namespace: str | None = None, *, resource_version: str,
                    label_selector: str | None = None) -> AsyncIterator[tuple[str, JsonObj]]:
        self.watch_versions.append(resource_version)
        if not self.watches:
            self.done.set()
            await asyncio.Event().wait()  # hang like an idle watch
        for step in self.watches.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step


async def run(api: ScriptedApi, clock: VirtualClock) -> tuple[Informer, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    async def on_change(old: JsonObj | None, new: JsonObj | None) -> None:
        kind = "added" if old is None else "deleted" if new is None else "modified"
        seen.append((kind, (new or old or {})["metadata"]["name"]))

    informer = Informer(api, CANARY, clock=clock, on_change=on_change)  # type: ignore[arg-type]
    task = asyncio.create_task(informer.run())
    while not api.done.is_set():
        await clock.advance(60)
    task.cancel()
    return informer, seen


async def test_expired_watch_relists_and_reports_what_changed_meanwhile() -> None:
    api = ScriptedApi(
        lists=[[obj("a", "1"), obj("b", "1")], [obj("a", "7"), obj("c", "7")]],
        watches=[[("MODIFIED", obj("a", "5")), Gone("too old resource version")]],
    )
    informer, seen = await run(api, VirtualClock())
    assert api.list_calls == 2
    assert sorted(o["metadata"]["name"] for o in informer.items()) == ["a", "c"]
    assert ("deleted", "b") in seen and ("added", "c") in seen
    assert informer.restarts == 1


async def test_dropped_watch_resumes_from_the_last_seen_version_without_relisting() -> None:
    api = ScriptedApi(
        lists=[[obj("a", "1")]],
        watches=[[("MODIFIED", obj("a", "9")), Unavailable("connection reset")],
                 [("BOOKMARK", obj("a", "12"))]],
    )
    informer, _ = await run(api, VirtualClock())
    assert api.list_calls == 1
    assert api.watch_versions[:3] == ["100", "9", "12"]
    assert informer.get("ns", "a")["metadata"]["resourceVersion"] == "9"  # type: ignore[index]


async def test_repeated_watch_failures_back_off_instead_of_spinning() -> None:
    clock = VirtualClock()
    failures = [[Unavailable("down")] for _ in range(4)]
    api = ScriptedApi(lists=[[obj("a", "1")]], watches=failures)
    start = clock.now()
    informer, _ = await run(api, clock)
    assert informer.restarts == 4
    assert (clock.now() - start).total_seconds() >= 1 + 2 + 4 + 8  # exponential backoff


async def test_write_through_never_replaces_a_newer_cached_copy() -> None:
    api = ScriptedApi(lists=[[obj("a", "10")]], watches=[])
    informer, _ = await run(api, VirtualClock())
    informer.upsert(obj("a", "8"))
    assert informer.get("ns", "a")["metadata"]["resourceVersion"] == "10"  # type: ignore[index]
    informer.upsert(obj("a", "11"))
    assert informer.get("ns", "a")["metadata"]["resourceVersion"] == "11"  # type: ignore[index]
