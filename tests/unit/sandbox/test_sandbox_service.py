"""The start/stop shape every sandbox server shares (`canary.sandbox.service`), and the one
build-once-and-cache shape of the sandbox's binaries."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from typing import Self

import pytest

from canary.sandbox.controlplane import build
from canary.sandbox.httpthread import LoopbackHTTPServer, QuietHandler
from canary.sandbox.service import AsyncService, Service, cancel_and_wait

pytestmark = pytest.mark.unit


class Recorder(Service):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> Self:
        self.calls.append("start")
        return self

    def stop(self) -> None:
        self.calls.append("stop")


class AsyncRecorder(AsyncService):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> Self:
        self.calls.append("start")
        return self

    async def stop(self) -> None:
        self.calls.append("stop")


def test_with_starts_and_always_stops() -> None:
    service = Recorder()
    with pytest.raises(ValueError), service as running:
        assert running is service
        raise ValueError
    assert service.calls == ["start", "stop"]


async def test_async_with_starts_and_always_stops() -> None:
    service = AsyncRecorder()
    with pytest.raises(ValueError):
        async with service as running:
            assert running is service
            raise ValueError
    assert service.calls == ["start", "stop"]


async def test_cancel_and_wait_ends_a_task_and_accepts_none() -> None:
    task = asyncio.create_task(asyncio.sleep(60))
    await cancel_and_wait(task)
    assert task.cancelled()
    await cancel_and_wait(None)


def test_a_loopback_server_answers_between_start_and_stop() -> None:
    class Hello(LoopbackHTTPServer):
        name = "hello"

        def handler(self) -> type[QuietHandler]:
            class Handler(QuietHandler):
                def do_GET(self) -> None:
                    self.reply(200, b"hi", "text/plain")

            return Handler

    server = Hello()
    with pytest.raises(RuntimeError, match="hello not started"):
        _ = server.port
    with server, urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=5) as answer:
        assert answer.read() == b"hi"
    with pytest.raises(RuntimeError):
        _ = server.port


def test_a_binary_is_built_once_then_found_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path))
    built: list[Path] = []

    def make(binary: Path, work: Path) -> None:
        assert work.is_dir()
        binary.write_text("#!/bin/true\n")
        built.append(binary)

    first = build.ensure_built("tool", "v1", "nowhere", make)
    second = build.ensure_built("tool", "v1", "nowhere", make)
    assert first == second == build.cached_binary("tool", "v1") and first.exists()
    assert built == [first]
