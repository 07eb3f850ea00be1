"""The one shape every sandbox server has: started, used, stopped — written once.

`Service` and `AsyncService` give `start()`/`stop()` classes their `with`/`async with`;
`ServerProcess` is a child process the sandbox talks to over HTTP (a demo app, Envoy): spawn
it, poll until it answers, and on stop close the session, stop the process (SIGTERM, then
SIGKILL) and remove the work directory if it made one. `cancel_and_wait` stops a background
task. Nothing here knows about Kubernetes.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Self

import aiohttp

from canary.sandbox.processes import Child

START_SECONDS = 30.0  # a cold interpreter imports aiohttp in ~0.5 s; Envoy starts in ~1 s


class Service:
    """`with service:` is `service.start()`, then `service.stop()` however the block ends."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class AsyncService:
    """`async with service:` is `await service.start()`, then `await service.stop()`."""

    async def start(self) -> Self:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (if any) and wait until it has ended, whatever it raised."""
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class ServerProcess(AsyncService):
    """A child server process and an HTTP session to it; subclasses `start()` with `_spawn`."""

    def __init__(self, workdir: Path | None, *, prefix: str) -> None:
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=prefix))
        self._child: Child | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    def alive(self) -> bool:
        return self._child is not None and self._child.alive()

    async def _spawn(
        self,
        name: str,
        cmd: list[str],
        ready: Callable[[aiohttp.ClientSession], Awaitable[bool]],
        *,
        log_path: Path,
        error: type[Exception] = RuntimeError,
    ) -> None:
        """Start `cmd`; poll `ready` until true. If it exits or does not get ready within
        `START_SECONDS`, stop everything and raise `error` with the end of its log."""
        self._child = child = Child(name, cmd, log_path=log_path)
        self._session = session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if await ready(session):
                    return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if not child.alive() or time.monotonic() > deadline:
                tail = child.log_tail(20)
                await self.stop()
                raise error(f"{name} did not become ready:\n{tail}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._child is not None:
            await asyncio.to_thread(self._child.stop)
            self._child = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
