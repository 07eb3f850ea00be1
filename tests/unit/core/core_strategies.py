"""Hypothesis strategies for canary.core: valid specs, and random walks of reconciles in which
time jumps, metrics pass, fail, go quiet or error, the route drifts or loses acceptance, and
people send requests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from core_world import World
from hypothesis import strategies as st

from canary.api import CanarySpec, CanaryStatus
from canary.core import weights
from canary.core.decide import needs_metrics
from canary.core.decision import Decision
from canary.core.observations import MetricSample, RouteIssue, RouteProblem

POLICIES = ("Inconclusive", "Fail", "Pass")
SAMPLE_KINDS = ("pass", "fail", "no-data", "error")


@st.composite
def steps_dicts(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        listed = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=6)))
        steps: dict[str, Any] = {"weights": listed}
    else:
        step = draw(st.integers(1, 100))
        steps = {"stepWeight": step, "maxWeight": draw(st.integers(step, min(100, step * 6)))}
    schedule = weights.schedule(CanarySpec.model_validate(_spec_dict(steps)).steps)
    paused_at = draw(st.sets(st.sampled_from(schedule), max_size=2))
    steps["pauses"] = [
        {"atWeight": w, **({"duration": d} if (d := draw(st.sampled_from([None, "2m"]))) else {})}
        for w in sorted(paused_at)
    ]
    steps["interval"] = draw(st.sampled_from(["30s", "1m", "5m"]))
    return steps


@st.composite
def specs(draw: st.DrawFn, *, with_requests_guard: bool | None = None) -> CanarySpec:
    gates = [
        {"name": f"gate-{i}", "template": "envoy-success-rate", "min": 99,
         "onNoData": draw(st.sampled_from(POLICIES)), "onError": draw(st.sampled_from(POLICIES))}
        for i in range(draw(st.integers(1, 2)))
    ]
    analysis: dict[str, Any] = {
        "metrics": gates,
        "failureThreshold": draw(st.integers(1, 4)),
        "inconclusiveLimit": draw(st.integers(0, 4)),
    }
    guard = draw(st.booleans()) if with_requests_guard is None else with_requests_guard
    if guard:
        analysis["minRequests"] = {"count": 10, "template": "envoy-request-count"}
    spec = _spec_dict(draw(steps_dicts()))
    spec["analysis"] = analysis
    spec["promotion"] = {"mode": draw(st.sampled_from(["Weights", "Rewrite"]))}
    return CanarySpec.model_validate(spec)


def _spec_dict(steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-svc-v1", "port": 80},
        "canary": {"name": "api-svc-v2", "port": 80},
        "steps": steps,
    }


def sample_of(kind: str, name: str) -> MetricSample:
    return {
        "pass": MetricSample.of(name, 99.5),
        "fail": MetricSample.of(name, 42.0),
        "no-data": MetricSample.no_data(name),
        "error": MetricSample.failed(name, "timeout"),
    }[kind]


@dataclass(frozen=True)
class Move:
    """One reconcile of a random walk and what happened in the world before it."""

    wait: str  # "requeue": as the decision asked; "early"/"late": a spurious or delayed wakeup
    seconds: int
    sample: str
    traffic: int
    request: str | None
    drift: int | None
    detach: bool
    lost: str | None  # "status": the status write failed (so no route write either);
    # "route": a crash or failure between the status write and the route write


# The options of each field of a Move, weighted by repetition. A move is drawn as ONE integer
# and decoded (mixed radix): a draw costs far more than a decode, and walks need thousands of
# examples per property.
_OPTIONS: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("wait", ("requeue", "requeue", "requeue", "early", "late")),
    ("seconds", (0, 1, 7, 29, 30, 31, 59, 60, 61, 119, 120, 300, 400)),
    ("sample", SAMPLE_KINDS),
    ("traffic", (0, 5, 500)),
    ("request", (None,) * 12 + ("promote", "promoteFull", "abort", "retry")),
    ("drift", (None,) * 20 + (0, 1, 5, 10, 33, 50, 99, 100)),
    ("detach", (False,) * 9 + (True,)),
    ("lost", (None,) * 8 + ("status", "route")),
)
_COMBINATIONS = math.prod(len(options) for _, options in _OPTIONS)


def decode_move(number: int) -> Move:
    fields: dict[str, Any] = {}
    for name, options in _OPTIONS:
        number, index = divmod(number, len(options))
        fields[name] = options[index]
    return Move(**fields)


moves = st.integers(0, _COMBINATIONS - 1).map(decode_move)

DETACHED = (RouteIssue(RouteProblem.NOT_ACCEPTED, "NotAllowedByParent", "not allowed"),)


@dataclass(frozen=True)
class Step:
    """A reconcile in a walk: the status before, whether metrics were asked for, the result."""

    before: CanaryStatus
    paused: bool
    asked_for_metrics: bool
    decision: Decision
    lost: str | None = None


def walk(world: World, plan: list[Move]) -> list[Step]:
    """Play `plan` on `world`; each move perturbs the world, then reconciles once."""
    taken: list[Step] = []
    previous: Decision | None = None
    for number, move in enumerate(plan):
        if previous is not None:
            world.now += _delay(move, previous)
        if move.request is not None:
            world.edit(requests={move.request: f"nonce-{number}"})
        if move.drift is not None and move.drift != world.canary_weight:
            world.canary_weight = move.drift
            world.route_generation += 1
            world.writer = "someone-else"
        world.issues = DETACHED if move.detach else ()
        before = world.status
        asked = _asked(world)
        previous = world.decide(
            partial(sample_of, move.sample), requests=MetricSample.of("requests", move.traffic)
        )
        if move.lost is None:
            world.apply(previous)
        elif move.lost == "route":  # the reconciler writes the status first
            world.status = previous.status
        taken.append(Step(before, world.spec.paused, asked, previous, move.lost))
    return taken


def _asked(world: World) -> bool:
    return needs_metrics(world.spec, world.status, world.route, world.now)


def _delay(move: Move, previous: Decision) -> timedelta:
    asked = previous.requeue_after
    if move.wait == "early":
        return timedelta(seconds=move.seconds % 30)
    if move.wait == "late" or asked is None:
        return timedelta(seconds=move.seconds)
    return asked
