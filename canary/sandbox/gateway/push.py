"""Push an `EnvoyConfig` to a running Envoy through watched files, and confirm Envoy runs it.

Make-before-break: new clusters, then routes, then listeners, then cluster pruning. Each step
waits for the new version in Envoy's stats; Envoy keeps the old config silently when it rejects
an update, so a rejection raises `EnvoyRejected` here with Envoy's own reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import structlog

from canary.sandbox.gateway import bootstrap as files
from canary.sandbox.gateway.translate import EnvoyConfig
from canary.sandbox.gateway.world import JsonObj

log = structlog.get_logger(__name__)
_CDS, _LDS = "cluster_manager.cds", "listener_manager.lds"


class EnvoyError(RuntimeError):
    """Envoy did not confirm a configuration: it died, or did not answer in time."""


class EnvoyRejected(EnvoyError):
    """Envoy refused an update (invalid or unparsable) and still runs the previous config."""


class Admin(Protocol):
    """What the pusher needs from the Envoy process: stats, liveness, its log."""

    async def stats(self, pattern: str) -> dict[str, int | str]: ...

    def alive(self) -> bool: ...

    def log_since(self, offset: int) -> str: ...

    def log_size(self) -> int: ...


_REASON = re.compile(r"update (?:rejected|failure): (.*)$")


def rejection_reason(log_text: str) -> str:
    """Envoy's reasons from its log lines, without timestamps (stable across retries)."""
    reasons = [m.group(1).strip() for line in log_text.splitlines() if (m := _REASON.search(line))]
    return "; ".join(dict.fromkeys(reasons)) or "see the Envoy log"


def _rds_prefix(name: str) -> str:
    return f"http.{name}.rds.{name}"  # stat_prefix and route config name are both `name`


class FilePusher:
    """Owns the config files in `workdir` and what Envoy confirmed it runs (`running`)."""

    def __init__(self, admin: Admin, workdir: Path, *, timeout: float) -> None:
        self._admin, self.workdir, self.timeout = admin, workdir, timeout
        self._lock = asyncio.Lock()
        self._version = 0
        self.running = EnvoyConfig()

    def path(self, kind: str, name: str = "") -> Path:
        if kind == "rds":  # one directory per route table: a rename reloads only that table
            digest = hashlib.sha1(name.encode()).hexdigest()[:16]
            return self.workdir / "rds" / digest / "routes.json"
        return self.workdir / kind / f"{kind}.json"

    def write_empty(self) -> None:
        """The initial (empty) listener and cluster files the bootstrap points at."""
        self.write(self.path("lds"), files.discovery_response("0", files.LISTENER_TYPE, []))
        self.write(self.path("cds"), files.discovery_response("0", files.CLUSTER_TYPE, []))

    def write(self, path: Path, content: JsonObj) -> None:
        """Write atomically: only a rename into the watched directory makes Envoy reload."""
        path.parent.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.workdir / "tmp", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
        Path(tmp).replace(path)

    async def apply(self, config: EnvoyConfig) -> None:
        """Make Envoy run `config`; return once it reports every new version."""
        async with self._lock:
            running = self.running
            union = {**running.clusters, **config.clusters}
            if union != running.clusters:
                await self._push_clusters(union)
            changed = {
                n: rc
                for n, rc in config.route_configs.items()
                if running.route_configs.get(n) != rc
            }
            existing = {n: rc for n, rc in changed.items() if n in running.listeners}
            if existing:
                await self._push_routes(existing)
            if dict(config.listeners) != dict(running.listeners):
                fresh = {n: rc for n, rc in changed.items() if n not in running.listeners}
                await self._push_listeners(config.listeners, fresh)
            if dict(config.clusters) != union:
                await self._push_clusters(dict(config.clusters))
            for name in set(running.listeners) - set(config.listeners):
                shutil.rmtree(self.path("rds", name).parent, ignore_errors=True)
            self.running = config

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    async def _push_clusters(self, clusters: Mapping[str, JsonObj]) -> None:
        resources = [clusters[name] for name in sorted(clusters)]
        content = files.discovery_response(self._next_version(), files.CLUSTER_TYPE, resources)
        await self._push({_CDS: (self.path("cds"), content)})
        self.running = EnvoyConfig(self.running.listeners, self.running.route_configs, clusters)

    def _routes_file(self, version: str, route_config: JsonObj) -> JsonObj:
        return files.discovery_response(version, files.ROUTE_TYPE, [route_config])

    async def _push_routes(self, routes: Mapping[str, JsonObj]) -> None:
        version = self._next_version()
        writes = {
            _rds_prefix(n): (self.path("rds", n), self._routes_file(version, rc))
            for n, rc in routes.items()
        }
        await self._push(writes)
        merged = {**self.running.route_configs, **routes}
        self.running = EnvoyConfig(self.running.listeners, merged, self.running.clusters)

    async def _push_listeners(
        self, listeners: Mapping[str, int], fresh: Mapping[str, JsonObj]
    ) -> None:
        """New listeners need their route file on disk first; their RDS then loads it."""
        version = self._next_version()
        for name, rc in fresh.items():
            self.write(self.path("rds", name), self._routes_file(version, rc))
        resources = [
            files.listener(n, listeners[n], self.path("rds", n)) for n in sorted(listeners)
        ]
        content = files.discovery_response(version, files.LISTENER_TYPE, resources)
        also = {_rds_prefix(name): version for name in fresh}
        await self._push({_LDS: (self.path("lds"), content)}, also=also)
        merged = {**self.running.route_configs, **fresh}
        self.running = EnvoyConfig(listeners, merged, self.running.clusters)

    async def _push(
        self, writes: Mapping[str, tuple[Path, JsonObj]], also: Mapping[str, str] | None = None
    ) -> None:
        """Write each file; wait until each subscription (a stats prefix) reports its version."""
        expected = {prefix: content["version_info"] for prefix, (_, content) in writes.items()}
        expected |= also or {}
        bad_before = await self._failures(expected)
        log_offset = self._admin.log_size()
        previous = {path: path.read_bytes() for path, _ in writes.values() if path.exists()}
        for path, content in writes.values():
            self.write(path, content)
        try:
            await self._confirm(expected, bad_before, log_offset)
        except EnvoyRejected:
            for path, data in previous.items():  # keep the files equal to what Envoy runs
                self.write(path, json.loads(data))
            raise

    async def _failures(self, prefixes: Mapping[str, str]) -> dict[str, int]:
        stats = await self._admin.stats(r"\.update_(rejected|failure)$")
        return {
            p: int(stats.get(f"{p}.update_rejected", 0)) + int(stats.get(f"{p}.update_failure", 0))
            for p in prefixes
        }

    async def _confirm(
        self, expected: Mapping[str, str], bad_before: Mapping[str, int], log_offset: int
    ) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            versions = await self._admin.stats(r"\.version_text$")
            pending = [p for p, v in expected.items() if versions.get(f"{p}.version_text") != v]
            if not pending:
                return
            bad = await self._failures(expected)
            rejected = [p for p in pending if bad[p] > bad_before.get(p, 0)]
            if rejected:
                reason = rejection_reason(self._admin.log_since(log_offset))
                log.error("envoy rejected configuration", subscriptions=rejected, reason=reason)
                raise EnvoyRejected(f"Envoy rejected the update of {', '.join(rejected)}: {reason}")
            if not self._admin.alive():
                raise EnvoyError(f"Envoy exited:\n{self._admin.log_since(0)}")
            if time.monotonic() > deadline:
                raise EnvoyError(f"Envoy did not confirm {pending} within {self.timeout}s")
            await asyncio.sleep(0.005)
