"""Two Canaries on the same route (a copy-paste mistake, or two pipelines): the route must follow
one declared rollout, not a tug of war between two schedules. However the operator settles it
(the second Canary refused, or held until the first is done), the route's weight history must
satisfy the rollout invariants of one of the two Canaries, and the operator must not keep
rewriting the route."""

from __future__ import annotations

import asyncio
import time

from faults.faultkit import App, Plan, Recorder, record_result
from faults.invariants import check, show
from harness.operators import Operators
from harness.waiting import eventually

QUIET = 5.0


async def test_two_canaries_on_one_route_do_not_fight(
    fault_app: App, operators: Operators
) -> None:
    first = Plan("first", (10, 20, 30, 40), route="shared")
    second = Plan("second", (50, 60, 70, 80), route="shared")
    await fault_app.setup(["shared"])
    await fault_app.wait_until_accepted(["shared"])
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        operator = operators.start()
        await operators.wait_ready(operator)
        for plan in (first, second):
            recorder.track(plan)
        await asyncio.gather(fault_app.create(first), fault_app.create(second))
        started = time.time()

        async def settled() -> bool:
            phases = {recorder.phase(p.name) for p in (first, second)}
            quiet = time.time() - recorder.last_change() > QUIET
            return quiet and ("Succeeded" in phases or time.time() - started > 60)

        await eventually(settled, within=120, what="the route to settle", every=0.5)
        route = recorder.histories[first.name]  # both histories hold the same route samples
        by_plan = {p.name: check(recorder.histories[p.name], p.expected()) for p in (first, second)}
        phases = {p.name: recorder.phase(p.name) for p in (first, second)}
    winners = [name for name, found in by_plan.items() if not found]
    record_result(
        "contention-shared-route",
        {
            "injected": "two Canaries (steps 10..40 and 50..80) on one route, created together",
            "injections": 1,
            "rollouts": 2,
            "route_writes": route.route_writes(),
            "succeeded": sum(phase == "Succeeded" for phase in phases.values()),
            "rolled_back": sum(phase == "RolledBack" for phase in phases.values()),
            "weights": show(route.weights()),
            "phases": phases,
            "violations": 0 if winners else len(by_plan[first.name]) + len(by_plan[second.name]),
            "violation_samples": [] if winners else [*by_plan[first.name], *by_plan[second.name]],
        },
    )
    every = [f for found in by_plan.values() for f in found]
    assert winners, (
        "the route followed neither Canary's rollout: "
        f"{show(route.weights())}\n" + "\n".join(every)
    )
