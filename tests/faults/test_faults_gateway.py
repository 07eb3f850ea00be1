"""A gateway controller that stops writing status: the real Contour is stopped, so after the
operator's next weight write the route's status is for an older generation (stale
`observedGeneration`). The operator must hold there (no further step while the gateway has not
caught up) and go on once status returns (Contour started again: a new process, which lists
everything afresh and writes the status it owes)."""

from __future__ import annotations

import asyncio
import statistics
import time

from faults.faultkit import App, ContourServer, Plan, Recorder, record_result, start_rollouts
from harness.contour import stale_routes
from harness.operators import Operators

PAUSE = 8.0
STEPS = (10, 20, 30, 40, 50, 60)


async def test_gateway_status_stops_then_returns(
    fault_app: App, operators: Operators, fault_gateway: ContourServer
) -> None:
    plans = [Plan(f"gw{i}", STEPS) for i in range(3)]
    names = {p.name for p in plans}
    await fault_app.setup(names)
    await fault_app.wait_until_accepted(names)
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        await start_rollouts(operators, fault_app, recorder, plans)
        await recorder.wait_under_way(plans, what="every rollout at 20 %")
        paused = time.time()
        await fault_gateway.stop()
        before = {p.name: recorder.histories[p.name].routes[-1].generation for p in plans}
        try:
            await asyncio.sleep(PAUSE)
            # What the stopped controller owes: routes whose status is for an older generation.
            stale = await stale_routes(fault_app.kube, fault_app.namespace, names)
        finally:
            await fault_gateway.start()
        resumed = time.time()
        await recorder.wait_finished(within=90)
        violations = recorder.violations()
        during = {
            p.name: [s for s in recorder.histories[p.name].routes if paused < s.at <= resumed]
            for p in plans
        }
        after: dict[str, float | None] = {}
        for plan in plans:
            routes = recorder.histories[plan.name].routes
            held = max(s.generation for s in routes if s.at <= resumed)
            after[plan.name] = next(
                (s.at - resumed for s in routes if s.generation > held), None
            )  # the first weight write after the status came back
        totals = recorder.totals()
    writes_during = {
        name: len({s.generation for s in samples} - {before[name]})
        for name, samples in during.items()
    }
    resumes = [v for v in after.values() if v is not None]
    record_result(
        "gateway-stale-status",
        {
            "injected": f"Contour (the only route status writer) stopped for {PAUSE:.0f} s, "
            "then started again",
            "injections": 1,
            "rollouts": len(plans),
            **totals,
            "routes_left_stale": len(stale),
            "route_writes_during_pause": writes_during,
            "next_step_s_median": round(statistics.median(resumes), 2) if resumes else None,
            "next_step_s_max": round(max(resumes), 2) if resumes else None,
            "violations": len(violations),
            "violation_samples": violations,
        },
    )
    assert stale, "no route status went stale while Contour was stopped: nothing was injected"
    assert not violations, "\n".join(violations)
    for name, count in writes_during.items():
        assert count <= 1, f"{name}: {count} route writes while the gateway status was stale"
    assert len(resumes) == len(plans), f"a rollout did not move after the status returned: {after}"
