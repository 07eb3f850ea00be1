"""Test helpers for canary.core: spec and observation builders, and a tiny simulated world that
applies a Decision's weight actions to a route, so tests can drive whole rollouts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from canary.api import CanarySpec, CanaryStatus, Phase
from canary.core.decide import decide, needs_metrics
from canary.core.decision import Decision, EventReason, RewriteRoute, SetWeights
from canary.core.observations import (
    MetricSample,
    Observations,
    RouteIssue,
    RouteObservation,
    RouteProblem,
    RuleWeights,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` updated by `extra`, recursively; a schedule in `extra` replaces the other kind."""
    out = dict(base)
    if "weights" in extra:
        out = {k: v for k, v in out.items() if k not in ("stepWeight", "maxWeight")}
    if "stepWeight" in extra:
        out.pop("weights", None)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def make_spec(**extra: Any) -> CanarySpec:
    """The classic example (5 % steps to 20 %, one success-rate gate), with overrides."""
    base: dict[str, Any] = {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-svc-v1", "port": 80},
        "canary": {"name": "api-svc-v2", "port": 80},
        "steps": {"stepWeight": 5, "maxWeight": 20, "interval": "1m"},
        "analysis": {
            "metrics": [{"name": "success-rate", "template": "envoy-success-rate", "min": 99}],
            "failureThreshold": 2,
            "inconclusiveLimit": 3,
        },
    }
    return CanarySpec.model_validate(merged(base, extra))


def route_at(
    canary: int, *, issues: tuple[RouteIssue, ...] = (), exists: bool = True,
    generation: int = 1, writer: str = "kubectl", hints: tuple[RouteIssue, ...] = (),
) -> RouteObservation:
    if not exists:
        return RouteObservation(exists=False)
    return RouteObservation(
        exists=True, rules=(RuleWeights(0, None, 100 - canary, canary),), issues=issues,
        generation=generation, writer=writer, hints=hints,
    )


NOT_ALLOWED = RouteIssue(
    RouteProblem.NOT_ACCEPTED,
    "NotAllowedByListeners",
    "Gateway public does not allow routes from this namespace: add it to allowedRoutes",
)


def samples(spec: CanarySpec, value: float | None) -> tuple[MetricSample, ...]:
    """One sample per gate: `value`, or no data when None."""
    gates = spec.analysis.metrics if spec.analysis else ()
    return tuple(
        MetricSample.of(g.name, value) if value is not None else MetricSample.no_data(g.name)
        for g in gates
    )


@dataclass
class World:
    """A route and a Canary status evolving under `decide`, with a virtual clock."""

    spec: CanarySpec
    status: CanaryStatus = field(default_factory=CanaryStatus)
    canary_weight: int = 0
    now: datetime = T0
    issues: tuple[RouteIssue, ...] = ()
    hints: tuple[RouteIssue, ...] = ()  # route problems that do not hold the rollout
    rewritten: bool = False
    generation: int = 1
    history: list[Decision] = field(default_factory=list)
    route_generation: int = 1  # bumped by every change of the route's weights
    writer: str = "kubectl"  # the field manager that last wrote the route's rules

    @property
    def route(self) -> RouteObservation:
        return route_at(self.canary_weight, issues=self.issues, hints=self.hints,
                        generation=self.route_generation, writer=self.writer)

    def observe(
        self, sample: Callable[[str], MetricSample] | None = None,
        requests: MetricSample | None = None,
    ) -> Observations:
        if sample is None or not needs_metrics(self.spec, self.status, self.route, self.now):
            return Observations(route=self.route)
        gates = self.spec.analysis.metrics if self.spec.analysis else ()
        return Observations(
            route=self.route, metrics=tuple(sample(g.name) for g in gates), request_count=requests
        )

    def decide(
        self, sample: Callable[[str], MetricSample] | None = None,
        requests: MetricSample | None = None,
    ) -> Decision:
        """One decision on the world as it is, carried out by nobody."""
        return decide(
            self.spec, self.status, observations=self.observe(sample, requests), now=self.now,
            generation=self.generation,
        )

    def tick(
        self, sample: Callable[[str], MetricSample] | None = None,
        requests: MetricSample | None = None,
    ) -> Decision:
        decision = self.decide(sample, requests)
        self.apply(decision)
        return decision

    def checked(
        self, sample: Callable[[str], MetricSample], *more: Callable[[str], MetricSample]
    ) -> Decision:
        """For each sample in turn: one step interval (a minute) later, a reconcile (`tick`)
        with it. The last decision."""
        for each in (sample, *more):
            self.now += MINUTE
            decision = self.tick(each)
        return decision

    def apply(self, decision: Decision) -> None:
        for action in decision.actions:
            if isinstance(action, SetWeights) and action.canary != self.canary_weight:
                self.canary_weight = action.canary
                self.route_generation += 1
                self.writer = "canary-operator"
            elif isinstance(action, RewriteRoute):
                self.rewritten = True
        self.status = decision.status
        self.history.append(decision)

    def wait(self, decision: Decision, default: timedelta = MINUTE) -> None:
        self.now += decision.requeue_after if decision.requeue_after is not None else default

    def edit(self, **extra: Any) -> None:
        self.spec = CanarySpec.model_validate(merged(self.spec.to_api(), extra))
        self.generation += 1


def passing(name: str) -> MetricSample:
    return MetricSample.of(name, 99.9, query=f"q({name})")


def failing(name: str) -> MetricSample:
    return MetricSample.of(name, 50.0, query=f"q({name})")


def no_data(name: str) -> MetricSample:
    return MetricSample.no_data(name, query=f"q({name})")


def erroring(name: str) -> MetricSample:
    return MetricSample.failed(name, "connection refused", query=f"q({name})")


def run_until_settled(
    world: World, sample: Callable[[str], MetricSample], *, limit: int = 200
) -> list[Decision]:
    """Tick, then wait as told, until nothing is scheduled (a final phase)."""
    for _ in range(limit):
        decision = world.tick(sample)
        if decision.requeue_after is None:
            return world.history
        world.wait(decision)
    raise AssertionError(f"not settled after {limit} reconciles: {world.status.message}")


def with_status(status: CanaryStatus, **changes: Any) -> CanaryStatus:
    return status.model_copy(update=changes)


def events(decision: Decision) -> list[EventReason]:
    return [a.reason for a in decision.events]


def weights_set(decision: Decision) -> list[int]:
    return [a.canary for a in decision.weight_changes]


def condition(status: CanaryStatus, kind: str) -> tuple[str, str]:
    found = status.condition(kind)
    assert found is not None, f"no {kind} condition"
    return found.status, found.reason


def started(**spec: object) -> World:
    """A world whose rollout has just applied its first step at T0."""
    world = World(make_spec(**spec))
    world.tick()
    assert world.status.phase is Phase.PROGRESSING
    return world
