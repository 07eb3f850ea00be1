"""The gateway's resource watch relists on 410 Gone and retries dropped watches with backoff."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness.fakes import ScriptedApi

from canary.kube.errors import Gone, Unavailable
from canary.kube.resources import SERVICE
from canary.sandbox.watch import ResourceWatch

pytestmark = pytest.mark.unit


def _svc(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": version}}


class Changes:
    """The watch's `on_change`: counts calls and lets a test wait for a state."""

    def __init__(self) -> None:
        self.count, self._event = 0, asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    async def until(self, predicate: Any) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self._event.clear()
                await self._event.wait()


async def test_a_gone_watch_relists_and_the_store_matches_the_new_list() -> None:
    kube = ScriptedApi(
        listings=[[_svc("a", "1")], [_svc("b", "2")]],
        watches=[[("ADDED", _svc("c", "3"))], Gone("too old", status=410)],
        version=lambda n: str(10 * n),
    )
    changes = Changes()
    watch = ResourceWatch(kube, SERVICE, changes)
    task = asyncio.create_task(watch.run())
    try:
        await changes.until(lambda: kube.lists == 2 and set(watch.store) == {("ns", "b")})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert kube.watched_from[:2] == ["10", "3"]  # resumed from the last event's version


async def test_a_dropped_watch_is_retried_after_a_backoff_and_changes_are_signalled() -> None:
    changes = Changes()
    kube = ScriptedApi(
        listings=[[_svc("a", "1")]],
        watches=[Unavailable("connection reset"), [("DELETED", _svc("a", "5"))]],
        version=lambda n: str(10 * n),
    )
    watch = ResourceWatch(kube, SERVICE, changes, max_backoff=0.01)
    task = asyncio.create_task(watch.run())
    try:
        await changes.until(lambda: kube.lists == 2 and watch.store == {})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert watch.synced.is_set()
    assert changes.count >= 3  # first list, relist after the error, the deletion
