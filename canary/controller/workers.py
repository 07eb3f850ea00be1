"""Workers that drain the queue: one reconcile per key at a time, outcome → requeue policy.

This is the only place that turns reconcile outcomes and exceptions into queue operations.
It never looks inside an object.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from canary.controller.queue import Key, WorkQueue
from canary.controller.result import Done, PermanentError, RequeueAfter, Result, TemporaryError
from canary.kube.errors import KubeError, Unavailable
from canary.telemetry.metrics import METRICS

Reconcile = Callable[[Key], Awaitable[Result]]
log = structlog.get_logger("canary.workers")
UNREACHABLE_RETRY = 2.0  # seconds between retries while the API server cannot be reached


async def process_one(
    queue: WorkQueue, reconcile: Reconcile, key: Key, *, reconcile_timeout: float, resync: float
) -> None:
    """Run one reconcile of `key` and schedule what comes next."""
    started, result = time.perf_counter(), "error"
    try:
        outcome = await asyncio.wait_for(reconcile(key), timeout=reconcile_timeout)
    except PermanentError as exc:
        result = "permanent_error"
        queue.forget(key)
        log.warning("reconcile failed permanently", key=key, error=str(exc))
    except TemporaryError as exc:
        result = "retry"
        if exc.delay is not None:
            queue.add_after(key, exc.delay)
        else:
            queue.add_rate_limited(key)
        log.info("reconcile will retry", key=key, error=str(exc))
    except asyncio.CancelledError:
        result = ""
        raise
    except KubeError as exc:  # the API server refused or was unreachable: expected, retried
        result = "retry"
        # Unreachable: retry often (each attempt fails fast), so the rollout resumes within
        # seconds of the API server's return; a refusal backs off as usual.
        cap = UNREACHABLE_RETRY if isinstance(exc, Unavailable) else None
        delay = queue.add_rate_limited(key, at_most=cap)
        log.warning("reconcile will retry", key=key, error=str(exc), retry_in=delay)
    except Exception as exc:  # any bug in one Canary must not stop the others
        delay = queue.add_rate_limited(key)
        log.exception("reconcile error", key=key, error=repr(exc), retry_in=delay)
    else:
        queue.forget(key)
        match outcome:
            case RequeueAfter(seconds=seconds):
                result = "requeue"
                queue.add_after(key, min(seconds, resync))
            case Done():
                result = "done"
                queue.add_after(key, resync)
    finally:
        if result:
            METRICS.record_reconcile(result, time.perf_counter() - started)
        await queue.done(key)


async def run_workers(
    queue: WorkQueue, reconcile: Reconcile, *, count: int, reconcile_timeout: float, resync: float
) -> None:
    """Run `count` workers until cancelled or the queue shuts down."""

    async def worker() -> None:
        while (key := await queue.get()) is not None:
            await process_one(
                queue, reconcile, key, reconcile_timeout=reconcile_timeout, resync=resync
            )

    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(worker())
