"""Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics.

Only the holder runs the operator's work; if it cannot renew within the renew deadline, or sees
another holder, it cancels the work at once and raises `LeadershipLost`. It never looks at a
Canary, and reads time only from the injected `Clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import structlog

from canary.controller.clock import Clock
from canary.controller.lease import LeaseApi, LeaseRecord, default_identity, micro_time
from canary.controller.settings import LeaderElectionSettings
from canary.kube.errors import Conflict, KubeError
from canary.kube.resources import LEASE, JsonObj

T = TypeVar("T")
log = structlog.get_logger("canary.leader")


class LeadershipLost(Exception):
    """The Lease could not be renewed in time, or another replica holds it."""


class LeaderElector:
    """Acquires and renews one Lease; `run(work)` runs `work` only while it is held."""

    def __init__(
        self,
        api: LeaseApi,
        settings: LeaderElectionSettings,
        *,
        clock: Clock,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._api = api
        self._settings = settings
        self._clock = clock
        self._on_change = on_change
        self.identity = settings.identity or default_identity()
        self._observed: LeaseRecord | None = None
        self._observed_at: dt.datetime | None = None  # our clock, when the record last changed
        self._resource_version: str | None = None
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def observed_holder(self) -> str:
        return self._observed.holder if self._observed else ""

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: True when we hold the Lease afterwards. Conflicts lose, never raise."""
        now = self._clock.now()
        name, namespace = self._settings.lease_name, self._settings.lease_namespace
        duration = round(self._settings.lease_duration_seconds)
        lease = await self._api.get_or_none(LEASE, name, namespace)
        if lease is None:
            mine = LeaseRecord(self.identity, duration, micro_time(now), micro_time(now), 0)
            body = mine.body(name, namespace)
            return await self._write(self._api.create(LEASE, body, namespace), mine, now)
        record = LeaseRecord.of(lease)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        self._resource_version = str(lease["metadata"].get("resourceVersion", ""))
        if record.holder and record.holder != self.identity and not self._expired(record, now):
            return False
        if record.holder == self.identity:
            mine = LeaseRecord(
                self.identity, duration, record.acquire_time, micro_time(now), record.transitions
            )
        else:
            mine = LeaseRecord(
                self.identity, duration, micro_time(now), micro_time(now), record.transitions + 1
            )
        lease["spec"] = {**(lease.get("spec") or {}), **mine.spec()}
        return await self._write(
            self._api.replace(LEASE, name, lease, namespace=namespace), mine, now
        )

    def _expired(self, record: LeaseRecord, now: dt.datetime) -> bool:
        """Measured from when *we* saw the record change, so clock skew between nodes is moot."""
        seen = self._observed_at or now
        return seen + dt.timedelta(seconds=record.duration_seconds) <= now

    async def _write(
        self, call: Coroutine[Any, Any, JsonObj], mine: LeaseRecord, now: dt.datetime
    ) -> bool:
        try:
            written = await call
        except Conflict:
            return False  # someone else wrote first; the next attempt re-reads
        self._observed, self._observed_at = mine, now
        self._resource_version = str(written.get("metadata", {}).get("resourceVersion", ""))
        return True

    async def acquire(self) -> None:
        """Retry every retry period until we hold the Lease."""
        waiting_on = None
        while True:
            try:
                if await self._bounded(self.try_acquire_or_renew()):
                    break
            except KubeError as exc:
                log.warning("cannot read or write the lease", error=str(exc))
            if self.observed_holder and self.observed_holder != waiting_on:
                waiting_on = self.observed_holder
                log.info("standing by", lease=self._settings.lease_name, holder=waiting_on)
            await self._clock.sleep(self._settings.retry_period_seconds)
        self._set_leading(True)
        log.info("became leader", lease=self._settings.lease_name, identity=self.identity)

    async def keep_renewing(self) -> None:
        """Renew every retry period; raise `LeadershipLost` past the renew deadline."""
        last_renewed = self._clock.now()
        deadline = dt.timedelta(seconds=self._settings.renew_deadline_seconds)
        while True:
            await self._clock.sleep(self._settings.retry_period_seconds)
            remaining = (last_renewed + deadline - self._clock.now()).total_seconds()
            renewed = False
            try:
                renewed = bool(await self._bounded(self.try_acquire_or_renew(), remaining))
            except KubeError as exc:
                log.warning("lease renewal failed", error=str(exc))
            if renewed:
                last_renewed = self._clock.now()
                continue
            if self.observed_holder not in ("", self.identity):
                raise LeadershipLost(f"the lease is now held by {self.observed_holder}")
            if self._clock.now() >= last_renewed + deadline:
                raise LeadershipLost(
                    f"the lease was not renewed for {self._settings.renew_deadline_seconds:g}s"
                )

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Acquire, run `work` while renewing; the first of the two to end ends both.

        A lost lease cancels `work` before anything else happens and raises `LeadershipLost`;
        when `work` ends or we are cancelled, the Lease is released so a standby starts at once.
        """
        await self.acquire()

        async def _work() -> None:
            await work()

        work_task = asyncio.create_task(_work(), name="leader-work")
        renew_task = asyncio.create_task(self.keep_renewing(), name="lease-renewal")
        try:
            await asyncio.wait({work_task, renew_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            work_task.cancel()
            renew_task.cancel()
            await asyncio.gather(work_task, renew_task, return_exceptions=True)
            lost = _failure(renew_task)
            if lost is None:
                await self.release()
            self._set_leading(False)
        if lost is not None:
            log.error("leadership lost, stopped working", error=str(lost))
            raise lost
        failure = _failure(work_task)
        if failure is not None:
            raise failure

    async def release(self) -> None:
        """Hand the Lease back (empty holder, 1 s duration) if we still hold it; best effort."""
        if not self._leading or self._observed is None or self._resource_version is None:
            return
        now = self._clock.now()
        name, namespace = self._settings.lease_name, self._settings.lease_namespace
        released = LeaseRecord("", 1, micro_time(now), micro_time(now), self._observed.transitions)
        body = released.body(name, namespace, resource_version=self._resource_version)
        with contextlib.suppress(KubeError):
            await self._bounded(self._api.replace(LEASE, name, body, namespace=namespace))
            log.info("released the lease", lease=name)

    def _set_leading(self, leading: bool) -> None:
        self._leading = leading
        if self._on_change is not None:
            self._on_change(leading)

    async def _bounded(self, call: Awaitable[T], seconds: float | None = None) -> T | None:
        """`call`'s result, or None when it takes longer than `seconds` on our clock."""
        limit = self._settings.renew_deadline_seconds if seconds is None else seconds
        task = asyncio.ensure_future(call)
        timer = asyncio.ensure_future(self._clock.sleep(max(0.0, limit)))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, timer, return_exceptions=True)
        if task.cancelled():
            return None
        return task.result()


def _failure(task: asyncio.Task[None]) -> BaseException | None:
    if not task.done() or task.cancelled():
        return None
    return task.exception()
