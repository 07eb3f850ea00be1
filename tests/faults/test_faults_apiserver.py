"""The API server stopped for 30 s mid-rollout and started again (same port, certificates and
etcd): the operator resumes within 5 s of its return, relisting as needed, and every rollout
keeps its invariants: the step in force when the server went away is neither skipped nor
repeated."""

from __future__ import annotations

import asyncio
import statistics
import time

from faults.faultkit import App, Plan, Recorder, iso_seconds, record_result, start_rollouts
from harness.operators import Operators
from harness.waiting import eventually

from canary.sandbox.controlplane.launcher import ControlPlane

OUTAGE = 30.0
RESUME_LIMIT = 5.0
STEPS = (10, 20, 30, 40, 50, 60, 70, 80, 90)


async def test_api_server_down_for_30s_mid_rollout(
    fault_plane: ControlPlane, fault_app: App, operators: Operators
) -> None:
    plans = [Plan(f"ok{i}", STEPS) for i in range(4)]
    plans += [Plan(f"bad{i}", STEPS, healthy=False, fail_at=30) for i in range(2)]
    late = Plan("late", (50,))  # created once the server is back: seen only through a watch
    await fault_app.setup(p.name for p in [*plans, late])
    await fault_app.wait_until_accepted(p.name for p in [*plans, late])
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        recorder.on_route.append(fault_app.turn_bad_at_fail_at())
        operator = await start_rollouts(operators, fault_app, recorder, plans)
        healthy = [p for p in plans if p.healthy]
        await recorder.wait_under_way(healthy, what="every healthy rollout at 20 %")
        weights_before = {p.name: recorder.canary_weight(p.name) for p in plans}
        stopped = time.time()
        last_rv = max(s.rv for h in recorder.histories.values() for s in h.samples())
        await asyncio.to_thread(fault_plane.stop_apiserver)
        await asyncio.sleep(max(0.0, stopped + OUTAGE - time.time()))
        ready = await asyncio.to_thread(fault_plane.start_apiserver)
        down_for = ready - stopped
        recorder.track(late)
        await fault_app.create(late)
        created = time.time()

        async def late_seen() -> float | None:
            statuses = recorder.histories[late.name].statuses
            return statuses[0].at if statuses else None

        new_object = await eventually(late_seen, within=90, what="the new Canary's first status")

        async def wrote_again() -> float | None:
            for line in operators.lines(operator):
                if line.get("event") != "reconciled":
                    continue
                if not (line.get("wrote_status") or line.get("wrote_route")):
                    continue
                at = iso_seconds(line["timestamp"])
                if at >= ready:
                    return at
            return None

        first_write = await eventually(wrote_again, within=60, what="a write after the outage")
        resume = first_write - ready
        await recorder.wait_finished(within=180)
        seen = sorted(
            s.at
            for p in plans
            for s in recorder.histories[p.name].samples()
            if s.rv > last_rv and s.at >= ready  # not what landed while it shut down
        )
        violations = recorder.violations()
        totals = recorder.totals()
    lines = operators.lines(operator)
    relists = sum(line.get("event") == "watch expired, relisting" for line in lines)
    retries = [line for line in lines if line.get("event") == "watch failed, retrying"]
    record_result(
        "apiserver-restart",
        {
            "injected": f"kube-apiserver stopped (SIGTERM) for {OUTAGE:.0f} s mid-rollout, then "
            "started again on the same port; etcd kept running",
            "injections": 1,
            "rollouts": len(plans) + 1,
            **totals,
            "down_s": round(down_for, 1),
            "resume_s": round(resume, 2),
            "first_write_seen_by_test_s": round(seen[0] - ready, 2) if seen else None,
            "new_canary_reconciled_s": round(new_object - created, 2),
            "watch_retries": len(retries),
            "longest_watch_backoff_s": max((r.get("retry_in", 0) for r in retries), default=0),
            "relists": relists,
            "weights_at_stop": statistics.median(weights_before.values()),
            "operator_alive": operator.alive(),
            "violations": len(violations),
            "violation_samples": violations,
        },
    )
    assert operator.alive(), "the operator died during the outage"
    assert not violations, "\n".join(violations)
    backoffs = [r.get("retry_in") for r in retries][-8:]
    assert resume <= RESUME_LIMIT, (
        f"the operator wrote again {resume:.1f}s after the API server was back "
        f"(limit {RESUME_LIMIT}s); its last watch retries: {backoffs}"
    )
    assert new_object - created <= RESUME_LIMIT, (
        f"a Canary created after the outage got its first status {new_object - created:.1f}s "
        f"later (limit {RESUME_LIMIT}s): the operator's watches were not back; its last watch "
        f"retries: {backoffs}"
    )
