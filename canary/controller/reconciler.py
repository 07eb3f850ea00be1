"""reconcile(key): read the Canary from the cache, observe, `decide()`, act, write status once.

Level-based: every pass re-reads the world, so a missed event or a restart only costs one
pass. The status is written before the route, always, guarded by the resourceVersion it was
decided from: every traffic move is preceded by a durable decision that justifies it, and a
crash in between only leaves the route behind its status (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import structlog
from pydantic import ValidationError

from canary.api.conditions import ConditionReason
from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus
from canary.controller import finalizer
from canary.controller.caches import Caches
from canary.controller.clock import Clock
from canary.controller.effects import Effects
from canary.controller.events import EventSink
from canary.controller.executor import execute
from canary.controller.queue import Key, split_key
from canary.controller.result import Done, RequeueAfter, Result, TemporaryError
from canary.controller.routes import observe, owner_of_weights
from canary.controller.workloads import observe_workload
from canary.core.decide import Sampling, decide, looked_at, reject_spec, sampling_due
from canary.core.decision import Decision
from canary.core.observations import ComparisonSample, MetricSample, Observations
from canary.kube.client import Kube
from canary.kube.errors import Conflict, Invalid
from canary.kube.resources import CANARY, JsonObj
from canary.providers.queries import unrenderable_queries
from canary.providers.sampler import GateSampler
from canary.routers.registry import ROUTE_RESOURCES, supported_kinds
from canary.routers.target import target_of
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
        sampler: GateSampler,
        events: EventSink,
        clock: Clock,
    ) -> None:
        self._kube = kube
        self._caches = caches
        self._sampler = sampler
        self._events = events
        self._clock = clock
        self._effects = Effects(kube=kube, caches=caches, events=events)

    async def __call__(self, key: Key) -> Result:
        started = time.perf_counter()
        namespace, name = split_key(key)
        obj = self._caches.get(CANARY, namespace, name)
        if obj is None:
            METRICS.forget_canary(namespace, name)
            return Done()
        if obj["metadata"].get("deletionTimestamp"):
            return await finalizer.finalize(self._effects, obj)
        obj = await finalizer.ensure(self._kube, self._caches, obj)
        decision, spec = await self._decide(obj)
        old = _status_of(obj)
        # Status first, always: the decision is durable before any traffic moves, so a crash
        # or a failed write in between only leaves a route behind its status, which the next
        # pass carries forward (a rollback included: RollingBack only ever writes 0 %).
        wrote_status = await self._write_status(obj, old, decision)
        wrote_route = await execute(self._effects, obj, spec, decision.actions)
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
        reject = functools.partial(reject_spec, status, now=now, generation=generation)
        try:
            spec = CanarySpec.model_validate(obj.get("spec") or {})
        except ValidationError as exc:
            return reject(problem=_problem(exc)), None
        kind = str(spec.route_ref.kind)
        if kind not in ROUTE_RESOURCES:  # the router registry is the one list of kinds
            problem = f"routeRef.kind {kind} is not supported (supported: {supported_kinds()})"
            return reject(problem=problem, why=ConditionReason.UNSUPPORTED_ROUTE_KIND), None
        if problems := unrenderable_queries(spec, namespace=meta["namespace"], name=meta["name"]):
            return reject(problem="; ".join(map(str, problems))), None
        try:
            target = target_of(meta["namespace"], spec)
        except ValueError as exc:  # stable and canary are one Service (namespace spelled once)
            return reject(problem=str(exc)), None
        workload = None
        if spec.workload is not None:
            workload = observe_workload(self._caches, meta["namespace"], spec.workload, obj)
            if workload.source.exists:
                # A new pod template is a new revision: the existing rule starts a new rollout.
                spec = spec.model_copy(update={"revision": workload.source.revision})
        route = await observe(self._caches, target)
        owner = owner_of_weights(self._caches, obj)
        samples: tuple[MetricSample, ...] = ()
        guard: MetricSample | None = None
        compared: tuple[ComparisonSample, ...] = ()
        due = sampling_due(spec, status, route, now, owner=owner)
        if due is not None:
            ns, name = meta["namespace"], meta["name"]
            only = None if due is Sampling.CHECK else looked_at(spec)
            (samples, guard), compared = await asyncio.gather(
                self._sampler.sample(ns, name, spec, only=only),
                self._sampler.compare(ns, name, spec, steps=status.step_starts, now=now),
            )
        observations = Observations(
            route=route,
            metrics=samples,
            request_count=guard,
            owner=owner,
            comparisons=compared,
            workload=workload,
        )
        decision = decide(spec, status, observations=observations, now=now, generation=generation)
        return decision, spec

    async def _write_status(self, obj: JsonObj, old: CanaryStatus, decision: Decision) -> bool:
        """One status write, and only when it changes; the result is written through the cache.

        Guarded by the resourceVersion the decision was made from: a decision taken on a stale
        copy (a lagging cache, a replica that lost its lease) is never written, so it can never
        overwrite a newer one — such as a recorded rollback. The key is retried on fresh data.
        """
        new = status_json(decision.status)
        if obj.get("status") is not None and new == status_json(old):
            return False
        meta = obj["metadata"]
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
            {"op": "add", "path": "/status", "value": new},
        ]
        try:
            written = await self._kube.patch(
                CANARY,
                meta["name"],
                patch,
                namespace=meta["namespace"],
                patch_type="json",
                subresource="status",
            )
        except (Conflict, Invalid) as exc:
            current = await self._kube.get_or_none(CANARY, meta["name"], meta["namespace"])
            if current is None:
                return False
            if current["metadata"].get("resourceVersion") == meta["resourceVersion"]:
                # Not a race: the status itself was refused (an admission policy, validation).
                # Nothing moves in this pass; say so where people look, and retry with backoff.
                await self._events.emit(
                    obj, type="Warning", reason="StatusWriteFailed",
                    message=f"Could not record the decision, so no traffic was moved: {exc}",
                )
                raise
            self._caches.upsert(CANARY, current)
            raise TemporaryError("the Canary changed since it was read", delay=0) from exc
        self._caches.upsert(CANARY, written)
        return True


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
