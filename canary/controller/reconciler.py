"""reconcile(key): read the Canary from the cache, observe, `decide()`, act, write status once.

Level-based: every pass re-reads the world, so a missed event or a restart only costs one
pass. The status is written before the route (a crash in between then re-applies the newer weight
instead of moving traffic backwards), except for a rollback, which writes the route first so
that RolledBack is never visible while the canary still gets traffic (docs/architecture.md).
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus, Phase
from canary.controller import finalizer
from canary.controller.clock import Clock
from canary.controller.events import EventSink
from canary.controller.executor import emit_events, execute, write_route
from canary.controller.manager import Caches
from canary.controller.metrics import MetricsSampler
from canary.controller.outcome import Done, Outcome, RequeueAfter
from canary.controller.queue import Key, split_key
from canary.controller.routes import ROUTE_RESOURCES, cached_route, observe, target_of
from canary.core.decide import decide, needs_metrics, reject_spec
from canary.core.decision import Decision
from canary.core.observations import MetricSample, Observations
from canary.kube.client import Kube
from canary.kube.resources import CANARY, HTTPROUTE, JsonObj
from canary.providers.queries import unrenderable_queries
from canary.routers.base import TrafficRouter
from canary.routers.registry import router_for
from canary.telemetry.metrics import METRICS

log = structlog.get_logger("canary.reconcile")


def status_json(status: CanaryStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


class Reconciler:
    """One instance per operator; `await reconciler(key)` is one pass for one Canary."""

    def __init__(
        self,
        *,
        kube: Kube,
        caches: Caches,
        sampler: MetricsSampler,
        events: EventSink,
        clock: Clock,
    ) -> None:
        self._kube = kube
        self._caches = caches
        self._sampler = sampler
        self._events = events
        self._clock = clock

    def router(self, kind: str) -> TrafficRouter:
        return router_for(kind, self._kube)

    async def __call__(self, key: Key) -> Outcome:
        started = time.perf_counter()
        namespace, name = split_key(key)
        obj = self._caches.get(CANARY, namespace, name)
        if obj is None:
            METRICS.forget_canary(namespace, name)
            return Done()
        if obj["metadata"].get("deletionTimestamp"):
            return await finalizer.finalize(self, obj)
        obj = await finalizer.ensure(self._kube, self._caches, obj)
        decision, spec = await self._decide(obj)
        old = _status_of(obj)
        if _enters_rollback(old, decision):
            # Route first: once RolledBack is visible, traffic is already on stable. A failed
            # write leaves the status as it was, so the next pass rolls back again.
            wrote_route = await write_route(self, obj, spec, decision.actions)
            wrote_status = await self._write_status(obj, old, decision)
            await emit_events(self, obj, decision.actions)
        else:
            wrote_status = await self._write_status(obj, old, decision)
            wrote_route = await execute(self, obj, spec, decision.actions)
        METRICS.record_status(namespace, name, old=old, new=decision.status)
        _log_line(
            obj,
            decision,
            wrote_status=wrote_status,
            wrote_route=wrote_route,
            seconds=time.perf_counter() - started,
        )
        if decision.requeue_after is None:
            return Done()
        return RequeueAfter(decision.requeue_after.total_seconds())

    async def _decide(self, obj: JsonObj) -> tuple[Decision, CanarySpec | None]:
        meta = obj["metadata"]
        generation = int(meta.get("generation") or 0)
        status = _status_of(obj)
        now = self._clock.now()
        try:
            spec = CanarySpec.model_validate(obj.get("spec") or {})
        except ValidationError as exc:
            return reject_spec(status, problem=_problem(exc), now=now, generation=generation), None
        if problems := unrenderable_queries(spec, namespace=meta["namespace"], name=meta["name"]):
            problem = "; ".join(map(str, problems))
            return reject_spec(status, problem=problem, now=now, generation=generation), None
        route = await observe(self._caches, target_of(meta["namespace"], spec))
        samples: tuple[MetricSample, ...] = ()
        guard: MetricSample | None = None
        if needs_metrics(spec, status, route, now):
            samples, guard = await self._sampler.sample(meta["namespace"], meta["name"], spec)
        observations = Observations(route=route, metrics=samples, request_count=guard)
        decision = decide(spec, status, observations=observations, now=now, generation=generation)
        return decision, spec

    async def _write_status(self, obj: JsonObj, old: CanaryStatus, decision: Decision) -> bool:
        """One status write, and only when it changes; the result is written through the cache."""
        new = status_json(decision.status)
        if obj.get("status") is not None and new == status_json(old):
            return False
        meta = obj["metadata"]
        written = await self._kube.patch(
            CANARY,
            meta["name"],
            [{"op": "add", "path": "/status", "value": new}],
            namespace=meta["namespace"],
            patch_type="json",
            subresource="status",
        )
        self._caches.upsert(CANARY, written)
        return True

    def cached_route(self, obj: JsonObj, spec: CanarySpec) -> JsonObj | None:
        return cached_route(self._caches, target_of(obj["metadata"]["namespace"], spec))

    def remember_route(self, route: JsonObj) -> None:
        resource = ROUTE_RESOURCES.get(str(route.get("kind", "HTTPRoute")), HTTPROUTE)
        self._caches.upsert(resource, route)

    @property
    def events(self) -> EventSink:
        return self._events

    @property
    def kube(self) -> Kube:
        return self._kube

    @property
    def caches(self) -> Caches:
        return self._caches


def _enters_rollback(old: CanaryStatus, decision: Decision) -> bool:
    return decision.status.phase is Phase.ROLLED_BACK and old.phase is not Phase.ROLLED_BACK


def _status_of(obj: JsonObj) -> CanaryStatus:
    try:
        return CanaryStatus.model_validate(obj.get("status") or {})
    except ValidationError as exc:
        log.warning("unreadable status, starting from an empty one", error=_problem(exc))
        return CanaryStatus()


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "spec"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _log_line(
    obj: JsonObj, decision: Decision, *, wrote_status: bool, wrote_route: bool, seconds: float
) -> None:
    """The canonical line: one per reconcile, everything a person needs to follow a rollout."""
    meta, status = obj["metadata"], decision.status
    log.info(
        "reconciled",
        canary=f"{meta['namespace']}/{meta['name']}",
        generation=meta.get("generation"),
        phase=str(status.phase),
        step=status.current_step,
        weights={"stable": status.stable_weight, "canary": status.canary_weight},
        verdicts={m.name: f"{m.verdict}:{m.value}" for m in status.metrics},
        failed_checks=status.failed_checks,
        actions=[type(a).__name__ for a in decision.actions],
        reasons=list(decision.reasons),
        wrote_status=wrote_status,
        wrote_route=wrote_route,
        requeue_after=decision.requeue_after.total_seconds() if decision.requeue_after else None,
        duration_ms=round(seconds * 1000, 1),
    )
