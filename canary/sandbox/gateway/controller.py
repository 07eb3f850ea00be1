"""The sandbox's Gateway API controller: watch the world, program Envoy, write the status owed.

Level-based: any change wakes one pass that recomputes everything from the caches, pushes the
Envoy config (a no-op when unchanged) and writes only the statuses that differ. It must not
touch any spec, nor any status entry another controller owns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import structlog

from canary.kube import resources as r
from canary.kube.client import Kube
from canary.kube.errors import Conflict, Invalid, KubeError, NotFound
from canary.kube.resources import Resource
from canary.sandbox.gateway import status
from canary.sandbox.gateway.envoy import Envoy, EnvoyRejected
from canary.sandbox.gateway.translate import (
    EnvoyConfig,
    listener_name,
    listener_names,
    translate,
)
from canary.sandbox.gateway.watches import ResourceWatch
from canary.sandbox.gateway.world import JsonObj, World, key_of
from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.service import AsyncService, cancel_and_wait

log = structlog.get_logger(__name__)
CONTROLLER_NAME = "canary-operator.io/sandbox-gateway"
_WATCHED = {
    "gateway_classes": r.GATEWAYCLASS,
    "gateways": r.GATEWAY,
    "routes": r.HTTPROUTE,
    "services": r.SERVICE,
    "endpoint_slices": r.ENDPOINTSLICE,
    "reference_grants": r.REFERENCEGRANT,
    "namespaces": r.NAMESPACE,
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class GatewayController(AsyncService):
    """Run with `async with GatewayController(kube, envoy):` (or `await run()` in a task)."""

    def __init__(
        self,
        kube: Kube,
        envoy: Envoy,
        *,
        controller_name: str = CONTROLLER_NAME,
        clock: Callable[[], datetime] = _utcnow,
        max_backoff: float = 5.0,
    ) -> None:
        self.kube, self.envoy, self.controller_name = kube, envoy, controller_name
        self._clock, self._max_backoff = clock, max_backoff
        self._dirty = asyncio.Event()
        self._watches = {f: ResourceWatch(kube, res, self._changed) for f, res in _WATCHED.items()}
        self._events = 0  # watch events received so far
        self._handled = -1  # events seen by the last completed pass
        self._pass_done = asyncio.Event()
        self._ports: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.programmed = status.Programmed(ok=False)
        self._rejected: EnvoyConfig | None = None  # the last config Envoy refused
        self._status_paused = False
        self.status_writes = 0  # successful status writes so far (all kinds)
        self.status_writes_skipped = 0  # writes owed but not made while paused

    def _changed(self) -> None:
        self._events += 1
        self._dirty.set()

    def pause_status(self) -> None:
        """Stop writing any status (Envoy is still programmed): every route's status stays at
        the generation it had, as with a gateway controller whose status updater is stuck.
        For fault tests."""
        self._status_paused = True

    def resume_status(self) -> None:
        """Write status again; a pass runs at once and catches up with every owed write."""
        self._status_paused = False
        self._dirty.set()

    @property
    def status_paused(self) -> bool:
        return self._status_paused

    def world(self) -> World:
        return World(
            self.controller_name, **{f: dict(w.store) for f, w in self._watches.items()}
        )

    async def run(self) -> None:
        """Watch and reconcile until cancelled; a dead Envoy or a bug ends it with the error."""
        async with asyncio.TaskGroup() as group:
            for watch in self._watches.values():
                group.create_task(watch.run())
            for watch in self._watches.values():
                await watch.synced.wait()
            delay = 0.1
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                events = self._events
                try:
                    await self.reconcile()
                    delay = 0.1
                    self._handled = events
                    self._pass_done.set()
                except KubeError as exc:
                    log.warning("status write failed, retrying", error=str(exc), delay=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_backoff)
                    self._dirty.set()

    async def reconcile(self) -> None:
        """One pass: program Envoy from the world, then write every status that changed."""
        world = self.world()
        for name in listener_names(world):
            self._ports.setdefault(name, free_port())
        config = translate(world, self._ports)
        if config != self._rejected:  # the same config would be refused again
            try:
                await self.envoy.apply(config)
                self.programmed, self._rejected = status.Programmed(ok=True), None
            except EnvoyRejected as exc:  # Envoy keeps its old config: say so on every Gateway
                self._rejected = config
                self.programmed = status.Programmed(False, "Invalid", str(exc)[:1000])
        now = self._clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        for cls in world.our_classes():
            await self._write(r.GATEWAYCLASS, cls, status.class_status(world, cls, now))
        attached = status.attached_routes(world)
        for gw in world.our_gateways():
            new = status.gateway_status(world, gw, self.programmed, attached, now)
            await self._write(r.GATEWAY, gw, new)
        for _, route in sorted(world.routes.items()):
            await self._write(r.HTTPROUTE, route, status.route_status(world, route, now))

    async def wait_synced(self) -> None:
        """Wait until a completed pass has seen every watch event received so far.

        Bound it with `asyncio.timeout(...)`; it raises if the controller has stopped.
        """
        target = self._events
        while self._handled < target:
            self._raise_if_dead()
            self._pass_done.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):  # wake up now and then to notice a dead task
                    await self._pass_done.wait()

    async def _write(self, res: Resource, obj: JsonObj, new: JsonObj) -> None:
        if (obj.get("status") or {}) == new:
            return
        if self._status_paused:
            self.status_writes_skipped += 1
            return
        namespace, name = key_of(obj)
        try:
            await self.kube.replace(
                res, name, {**obj, "status": new}, namespace=namespace or None, subresource="status"
            )
        except (Conflict, NotFound):
            return  # the watch brings the newer object (or its deletion) and wakes another pass
        except Invalid as exc:  # a bug of ours; retrying cannot help, other objects still can
            log.error(
                "status refused", kind=res.kind, namespace=namespace, name=name, error=str(exc)
            )
            return
        self.status_writes += 1
        log.debug("status written", kind=res.kind, namespace=namespace, name=name)

    def url(self, namespace: str, gateway: str, port: int) -> str | None:
        """The loopback URL serving a Gateway's port, once Envoy runs that listener."""
        local = self.envoy.running.listeners.get(listener_name((namespace, gateway), port))
        return f"http://{LOOPBACK}:{local}" if local else None

    async def wait_for_url(self, namespace: str, gateway: str, port: int) -> str:
        """Wait until Envoy serves the Gateway's port; return its loopback URL.

        Bound it with `asyncio.timeout(...)`; it raises if the controller has stopped.
        """
        while (url := self.url(namespace, gateway, port)) is None:
            self._raise_if_dead()
            await asyncio.sleep(0.02)
        return url

    def _raise_if_dead(self) -> None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            exc = self._task.exception()
            if exc is not None:
                raise RuntimeError("the sandbox gateway controller stopped") from exc

    async def start(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="sandbox-gateway-controller")
        return self

    async def stop(self) -> None:
        """Cancel the controller; re-raise what ended it if it had failed."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if task is not None and not task.cancelled() and (exc := task.exception()) is not None:
            raise exc


@asynccontextmanager
async def sandbox_gateway(
    kube: Kube,
    *,
    workdir: Path | None = None,
    controller_name: str = CONTROLLER_NAME,
    envoy_log_level: str = "warning",
) -> AsyncIterator[GatewayController]:
    """Start Envoy and the controller; stop both on exit. Create a GatewayClass naming
    `controller_name`, then Gateways and HTTPRoutes, and ask `wait_for_url` where to send load."""
    async with (
        Envoy(workdir, log_level=envoy_log_level) as envoy,
        GatewayController(kube, envoy, controller_name=controller_name) as controller,
    ):
        yield controller
