"""Assemble and run one operator process: connect, build the reconciler, run the manager.

The only place that knows every concrete part; it stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

from canary.controller import failpoints
from canary.controller.caches import Caches
from canary.controller.clock import Clock, RealClock
from canary.controller.events import EventRecorder
from canary.controller.leader import LeaderElector
from canary.controller.manager import Manager
from canary.controller.queue import WorkQueue
from canary.controller.reconciler import Reconciler
from canary.controller.settings import OperatorSettings
from canary.controller.workers import Reconcile
from canary.providers.sampler import GateSampler
from canary.telemetry.health import HealthServer, HealthState, heartbeat
from canary.telemetry.metrics import METRICS, serve_metrics

log = structlog.get_logger("canary.operator")


async def run_operator(
    settings: OperatorSettings,
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    clock: Clock | None = None,
    token: str | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or cancellation); raises `LeadershipLost` if the lease is lost."""
    clock = clock or RealClock()
    # Plain `Kube` unless CANARY_FAILPOINTS arms fail points (the fault suite only).
    kube = await failpoints.kube_class().connect(
        kubeconfig=kubeconfig, context=context, field_manager=settings.field_manager, token=token
    )
    kube.on_error = METRICS.record_api_error
    sampler = GateSampler(kube, default_address=settings.prometheus_address)
    events = EventRecorder(kube, clock=clock)

    def make_reconciler(caches: Caches, queue: WorkQueue) -> Reconcile:
        return Reconciler(kube=kube, caches=caches, sampler=sampler, events=events, clock=clock)

    manager = Manager(kube, settings, clock=clock, make_reconciler=make_reconciler)
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        if main is not None:
            loop.add_signal_handler(sig, main.cancel)
    log.info(
        "operator starting",
        namespaces=list(settings.namespaces) or "all",
        selector=settings.label_selector,
        workers=settings.workers,
    )
    election = settings.leader_election
    health = HealthState(leader_election=election.enabled)

    def leading(now: bool) -> None:
        health.leading = now
        METRICS.set_leader(now)

    try:
        async with _telemetry(settings, manager, health):
            if election.enabled:
                await LeaderElector(kube, election, clock=clock, on_change=leading).run(manager.run)
            else:
                leading(True)
                await manager.run()
    except asyncio.CancelledError:
        log.info("operator stopping")
    finally:
        await manager.stop()
        await sampler.aclose()
        await kube.close()


@contextlib.asynccontextmanager
async def _telemetry(
    settings: OperatorSettings, manager: Manager, health: HealthState
) -> AsyncIterator[None]:
    """Metrics and probe servers (when their ports are set) for as long as the operator runs."""
    METRICS.watch_control_loop(
        queue_depth=manager.queue.depth,
        watch_restarts=lambda: [
            (i.resource.plural, i.namespace or "", i.restarts) for i in manager.caches.all()
        ],
    )

    async def synced() -> None:
        for informer in manager.caches.all():
            await informer.synced.wait()
        health.caches_synced = True

    async with contextlib.AsyncExitStack() as stack:
        if settings.metrics_port:
            stack.callback(
                serve_metrics(METRICS, address=settings.listen_address, port=settings.metrics_port)
            )
        if settings.health_port:
            server = HealthServer(
                health, address=settings.listen_address, port=settings.health_port
            )
            stack.callback(server.start().stop)
        tasks = [asyncio.create_task(heartbeat(health)), asyncio.create_task(synced())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
