"""Assemble and run one operator process: connect, build the reconciler, run the manager.

The only place that knows every concrete part; it stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog

from canary.controller.clock import Clock, RealClock
from canary.controller.events import EventRecorder
from canary.controller.manager import Caches, Manager
from canary.controller.metrics import MetricsSampler
from canary.controller.queue import WorkQueue
from canary.controller.reconciler import Reconciler
from canary.controller.settings import OperatorSettings
from canary.controller.workers import Reconcile
from canary.kube.client import Kube

log = structlog.get_logger("canary.operator")


async def run_operator(
    settings: OperatorSettings,
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    clock: Clock | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or cancellation)."""
    clock = clock or RealClock()
    kube = await Kube.connect(
        kubeconfig=kubeconfig, context=context, field_manager=settings.field_manager
    )
    sampler = MetricsSampler(kube, settings)
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
    try:
        await manager.run()
    except asyncio.CancelledError:
        log.info("operator stopping")
    finally:
        await manager.stop()
        await sampler.aclose()
        await kube.close()
