"""Following a Canary: its state first, then each change of it (and only of it), a relist when
the watch's resourceVersion is gone, and a reconnect after the API drops the watch."""

from __future__ import annotations

import pytest
from harness.fakes import ScriptedApi

from canary.cli.follow import follow
from canary.kube.errors import Gone, Unavailable
from canary.kube.resources import JsonObj

pytestmark = pytest.mark.unit


def obj(name: str, version: str, phase: str = "Progressing") -> JsonObj:
    return {"metadata": {"name": name, "resourceVersion": version}, "status": {"phase": phase}}


async def take(api: ScriptedApi, count: int) -> list[JsonObj | None]:
    stream = follow(api, "shop", "api", reconnect_delay=0)
    try:
        return [await anext(stream) for _ in range(count)]
    finally:
        await stream.aclose()


def phases(seen: list[JsonObj | None]) -> list[str | None]:
    return [o["status"]["phase"] if o else None for o in seen]


async def test_the_state_comes_first_then_only_this_canarys_changes() -> None:
    api = ScriptedApi(
        [[obj("other", "1"), obj("api", "2", "Pending")]],
        [
            [
                ("MODIFIED", obj("other", "3")),
                ("BOOKMARK", {"metadata": {"resourceVersion": "4"}}),
                ("MODIFIED", obj("api", "5", "Succeeded")),
                ("DELETED", obj("api", "6")),
            ]
        ],
    )
    assert phases(await take(api, 3)) == ["Pending", "Succeeded", None]
    assert api.watched_from == ["list-1"]


async def test_an_absent_canary_is_none_at_first() -> None:
    api = ScriptedApi([[obj("other", "1")]], [[("ADDED", obj("api", "2", "Pending"))]])
    assert phases(await take(api, 2)) == [None, "Pending"]


async def test_a_gone_watch_relists_and_resumes_from_the_new_list() -> None:
    api = ScriptedApi(
        [[obj("api", "1", "Pending")], [obj("api", "9", "Progressing")]],
        [[Gone("too old", status=410)], [("MODIFIED", obj("api", "10", "Succeeded"))]],
    )
    assert phases(await take(api, 3)) == ["Pending", "Progressing", "Succeeded"]
    assert api.watched_from == ["list-1", "list-2"]


async def test_a_dropped_watch_relists_after_the_delay() -> None:
    api = ScriptedApi(
        [[obj("api", "1", "Pending")], [obj("api", "7", "Promoting")]],
        [[("MODIFIED", obj("api", "5", "Progressing")), Unavailable("dropped")], []],
    )
    assert phases(await take(api, 3)) == ["Pending", "Progressing", "Promoting"]


async def test_a_watch_that_ends_resumes_from_the_last_version_seen() -> None:
    api = ScriptedApi(
        [[obj("api", "1", "Pending")]],
        [[("MODIFIED", obj("api", "5", "Progressing"))], [("MODIFIED", obj("api", "6", "Paused"))]],
    )
    assert phases(await take(api, 3)) == ["Pending", "Progressing", "Paused"]
    assert api.watched_from == ["list-1", "5"]
    assert api.lists == 1
