"""The fault suite's harness: applications with many routes, a recorder that keeps every route and
Canary change from the test's own watches, operator processes to kill and restart, and the
results files the report is built from.

Nothing here asks the operator what it did: histories come from watching the API server.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faults.invariants import Expected, History, RouteSample, StatusSample, check
from harness import manifests
from harness.contour import contour_for
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.errors import Gone, KubeError
from canary.kube.resources import CANARY, GATEWAY, HTTPROUTE, SERVICE, JsonObj, Resource
from canary.sandbox.contour import Contour
from canary.sandbox.exporter import Exporter
from canary.sandbox.processes import Child

HERE = Path(__file__).resolve().parent
CLASS_NAME = "fault-tests"  # of the real Contour's controller name (tests/harness/contour.py)
GAUGE = "canary_fault_success"
HEALTHY, FAILING = 100.0, 50.0


def results_dir() -> Path:
    """Where scenarios write their figures: `$CANARY_FAULT_RESULTS`, else tests/faults/.results."""
    return Path(os.environ.get("CANARY_FAULT_RESULTS") or HERE / ".results")


def record_result(scenario: str, figures: dict[str, Any]) -> Path:
    """One JSON file per scenario (the last run wins); `report.py` turns them into a table."""
    directory = results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{scenario}.json"
    body = {"scenario": scenario, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps({**body, **figures}, indent=2, sort_keys=False) + "\n")
    return path


# -- the gateway controller ------------------------------------------------------------------


@dataclass
class ContourServer:
    """The real Contour (static mode) serving Gateway `gw` of the test's namespace, the only
    writer of route status there. A scenario may stop it (nothing writes route status then) and
    start it again: a new process, which lists everything afresh and catches up."""

    kubeconfig: Path
    namespace: str
    workdir: Path
    running: Contour | None = None
    starts: int = 0

    async def start(self) -> Contour:
        self.starts += 1
        workdir = self.workdir / f"contour-{self.starts}"
        self.running = await contour_for(self.kubeconfig, self.namespace, workdir).start()
        return self.running

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None


# -- the application -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One rollout: a Canary on its own route, and how its gate behaves."""

    name: str  # Canary name; its route is the same name, its Services NAME-v1 / NAME-v2
    steps: tuple[int, ...]
    healthy: bool = True
    fail_at: int | None = None  # failing canaries: the gate turns bad once this weight is on
    failure_threshold: int = 2
    analysis: JsonObj | None = None  # a full analysis block instead of the default gate
    route: str | None = None  # another Canary's route (contention scenarios)
    expect: str | None = None  # the declared ending, when the gate alone does not say it

    @property
    def route_name(self) -> str:
        return self.route or self.name

    @property
    def stable(self) -> str:
        return f"{self.route_name}-v1"

    @property
    def canary(self) -> str:
        return f"{self.route_name}-v2"

    @property
    def outcome(self) -> str:
        return self.expect or ("Succeeded" if self.healthy else "RolledBack")

    def expected(self, **extra: Any) -> Expected:
        rolled_back = self.outcome == "RolledBack"
        return Expected(
            self.steps,
            self.outcome,
            failure_threshold=self.failure_threshold if rolled_back else None,
            fails_for_good=not self.healthy,
            **extra,
        )


def gate_query() -> str:
    return GAUGE + '{namespace="{{ namespace }}",service="{{ canary_service }}"}'


def canary_manifest(namespace: str, plan: Plan, *, interval: str = "1s") -> JsonObj:
    analysis = plan.analysis or manifests.gate(
        gate_query(), failure_threshold=plan.failure_threshold, interval=None
    )
    return manifests.canary_manifest(
        namespace, name=plan.name, route_name=plan.route_name, stable_service=plan.stable,
        canary_service=plan.canary, weights=plan.steps, interval=interval, analysis=analysis,
    )


def route_manifest(namespace: str, name: str) -> JsonObj:
    return manifests.split_route_manifest(
        namespace, name, stable=f"{name}-v1", canary=f"{name}-v2", hostname=f"{name}.example.com"
    )


@dataclass
class App:
    """A namespace with Gateway `gw` and, per route, two Services and an HTTPRoute."""

    kube: Kube
    namespace: str
    exporter: Exporter

    async def setup(self, routes: Iterable[str]) -> None:
        existing = {
            g["metadata"]["name"] for g in (await self.kube.list(GATEWAY, self.namespace))[0]
        }
        if "gw" not in existing:
            gateway = manifests.gateway_manifest(self.namespace, CLASS_NAME)
            await self.kube.create(GATEWAY, gateway, self.namespace)

        async def one(route: str) -> None:
            for service in (f"{route}-v1", f"{route}-v2"):
                await self.kube.create(SERVICE, manifests.service_manifest(service), self.namespace)
            await self.kube.create(HTTPROUTE, route_manifest(self.namespace, route), self.namespace)

        await _bounded(one(r) for r in routes)

    def set_health(self, plan: Plan, value: float) -> None:
        labels = {"namespace": self.namespace, "service": plan.canary}
        self.exporter.set_gauge(GAUGE, labels, value)

    async def create(self, plan: Plan, *, interval: str = "1s") -> None:
        if plan.fail_at is None:
            self.set_health(plan, HEALTHY if plan.healthy else FAILING)
        else:
            self.set_health(plan, HEALTHY)
        await self.kube.create(
            CANARY, canary_manifest(self.namespace, plan, interval=interval), self.namespace
        )

    def turn_bad_at_fail_at(self) -> Callable[[Plan, RouteSample], None]:
        """A recorder callback: a plan's gate turns bad once its `fail_at` weight is on."""

        def callback(plan: Plan, sample: RouteSample) -> None:
            if plan.fail_at is not None and sample.canary >= plan.fail_at:
                self.set_health(plan, FAILING)

        return callback

    async def wait_until_accepted(self, routes: Iterable[str], within: float = 60) -> None:
        """Every route accepted by Contour (the operator would hold otherwise)."""
        names = set(routes)

        async def accepted() -> bool:
            items, _ = await self.kube.list(HTTPROUTE, self.namespace)
            ok = {
                r["metadata"]["name"]
                for r in items
                if any(
                    c.get("type") == "Accepted" and c.get("status") == "True"
                    for p in (r.get("status") or {}).get("parents") or []
                    for c in p.get("conditions") or []
                )
            }
            return names <= ok

        await eventually(accepted, within=within, what=f"{len(names)} routes accepted")


async def _bounded(coroutines: Iterable[Awaitable[Any]], limit: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(coroutine: Awaitable[Any]) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(run(c) for c in coroutines))


async def start_rollouts(
    operators: Operators, app: App, recorder: Recorder, plans: Iterable[Plan]
) -> Child:
    """Start an operator, wait until its caches are synced, then track and create `plans`."""
    operator = operators.start()
    await operators.wait_ready(operator)
    for plan in plans:
        recorder.track(plan)
        await app.create(plan)
    return operator


# -- the recorder ----------------------------------------------------------------------------


def _rv(obj: JsonObj) -> int:
    return int(obj["metadata"]["resourceVersion"])


def managed_weights(route: JsonObj, stable: str, canary: str) -> tuple[int, int] | None:
    """(stable, canary) weights of the first rule holding both backends."""
    for rule in route.get("spec", {}).get("rules") or []:
        refs = {ref.get("name"): ref for ref in rule.get("backendRefs") or []}
        if stable in refs and canary in refs:
            return int(refs[stable].get("weight", 1)), int(refs[canary].get("weight", 1))
    return None


@dataclass
class Recorder:
    """Watches HTTPRoutes and Canaries of one namespace from the test and keeps, per Canary, the
    history the invariants are judged on. Survives API server outages: it resumes its watches
    from the last resourceVersion it saw, so no change is lost."""

    kube: Kube
    namespace: str
    plans: dict[str, Plan] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    canaries: dict[str, JsonObj] = field(default_factory=dict)
    on_route: list[Callable[[Plan, RouteSample], None]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _last_status: dict[str, JsonObj] = field(default_factory=dict)
    _routes: dict[str, JsonObj] = field(default_factory=dict)
    _synced: dict[str, asyncio.Event] = field(default_factory=dict)
    watch_failures: int = 0

    def track(self, plan: Plan) -> None:
        """Record this rollout (before its Canary is created), from its route as last seen."""
        self.plans[plan.name] = plan
        self.histories.setdefault(plan.name, History(f"{self.namespace}/{plan.name}"))
        route = self._routes.get(plan.route_name)
        if route is not None:
            self._route_sample(plan, route, time.time())

    async def __aenter__(self) -> Recorder:
        for resource in (HTTPROUTE, CANARY):
            self._synced[resource.plural] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._run(resource)))
        for event in self._synced.values():
            await asyncio.wait_for(event.wait(), timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, resource: Resource) -> None:
        version = ""
        while True:
            try:
                if not version:
                    items, version = await self.kube.list(resource, self.namespace)
                    for obj in items:
                        self._seen(resource, obj)
                    self._synced[resource.plural].set()
                async for kind, obj in self.kube.watch(
                    resource, self.namespace, resource_version=version, timeout_seconds=60
                ):
                    version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                    if kind in ("ADDED", "MODIFIED"):
                        self._seen(resource, obj)
            except Gone:
                version = ""  # cannot happen within a test (compaction every 5 min); relist
            except KubeError:
                self.watch_failures += 1
                await asyncio.sleep(0.1)

    def _seen(self, resource: Resource, obj: JsonObj) -> None:
        now = time.time()
        name = obj["metadata"]["name"]
        if resource is HTTPROUTE:
            self._routes[name] = obj
            for plan in list(self.plans.values()):
                if plan.route_name == name:
                    self._route_sample(plan, obj, now)
            return
        self.canaries[name] = obj
        status = obj.get("status")
        plan_history = self.histories.get(name)
        if not status or plan_history is None or self._last_status.get(name) == status:
            return
        self._last_status[name] = status
        if plan_history.statuses and plan_history.statuses[-1].rv >= _rv(obj):
            return
        plan_history.statuses.append(
            StatusSample(
                _rv(obj),
                now,
                str(status.get("phase", "")),
                int(status.get("currentStep", 0)),
                int(status.get("canaryWeight", 0)),
                int(status.get("failedChecks", 0)),
                int(status.get("observedGeneration", 0)),
                tuple(str(m.get("outcome", "")) for m in status.get("metrics") or []),
            )
        )

    def _route_sample(self, plan: Plan, route: JsonObj, now: float) -> None:
        weights = managed_weights(route, plan.stable, plan.canary)
        if weights is None:
            return
        generation = int(route["metadata"]["generation"])
        sample = RouteSample(_rv(route), now, generation, weights[1], weights[0])
        history = self.histories[plan.name]
        if history.routes and history.routes[-1].rv >= sample.rv:
            return
        history.routes.append(sample)
        for callback in self.on_route:
            callback(plan, sample)

    def phase(self, name: str) -> str:
        return str((self.canaries.get(name, {}).get("status") or {}).get("phase", ""))

    def finished(self, names: Iterable[str] | None = None) -> bool:
        wanted = list(self.plans) if names is None else list(names)
        return all(self.phase(n) in ("Succeeded", "RolledBack", "Failed") for n in wanted)

    def canary_weight(self, name: str) -> int:
        routes = self.histories[name].routes
        return routes[-1].canary if routes else 0

    def last_change(self) -> float:
        """time.time() of the last route or status change seen."""
        stamps = [s.at for h in self.histories.values() for s in h.samples()]
        return max(stamps, default=0.0)

    async def wait_finished(self, names: Iterable[str] | None = None, within: float = 120) -> None:
        wanted = list(self.plans) if names is None else list(names)

        async def done() -> bool:
            return self.finished(wanted)

        try:
            await eventually(done, within=within, what="every rollout to finish", every=0.2)
        except AssertionError as exc:
            stuck = {n: self.phase(n) for n in wanted if not self.finished([n])}
            running = dict(list(stuck.items())[:10])
            raise AssertionError(f"{exc}; still running: {running}") from None

    async def wait_under_way(
        self, plans: Iterable[Plan], *, weight: int = 20, what: str, within: float = 60
    ) -> None:
        """Until every one of `plans` has at least `weight` % on its canary."""
        wanted = list(plans)

        async def under_way() -> bool:
            return all(self.canary_weight(p.name) >= weight for p in wanted)

        await eventually(under_way, within=within, what=what)

    def violations(self, **extra: Any) -> list[str]:
        found: list[str] = []
        for name, plan in self.plans.items():
            found += check(self.histories[name], plan.expected(**extra))
        return found

    def explain(self, violations: list[str], limit: int = 5) -> list[str]:
        """The violations, then the timeline of each rollout they concern (up to `limit`)."""
        named = [
            h
            for h in self.histories.values()
            if any(v.startswith(h.name + ":") for v in violations)
        ]
        out = list(violations)
        for history in named[:limit]:
            out += [f"-- {history.name}", *history.timeline()]
        return out

    def totals(self) -> dict[str, int]:
        histories = list(self.histories.values())
        return {
            "route_writes": sum(h.route_writes() for h in histories),
            "status_writes": sum(h.status_writes() for h in histories),
            "succeeded": sum(h.final_phase() == "Succeeded" for h in histories),
            "rolled_back": sum(h.final_phase() == "RolledBack" for h in histories),
        }


def iso_seconds(stamp: str) -> float:
    """time.time() of a structlog ISO timestamp."""
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
