"""Leader failover during a rollback: two operator processes with leader election on a Lease.
The leader dies (SIGKILL once the first failed check is recorded, or at the fail point between
the rollback's recording, status RollingBack, and its route write); the standby takes the Lease
and must finish the rollback: the canary weight never rises again and the rollout ends
RolledBack with exactly `failureThreshold` failed checks."""

from __future__ import annotations

import time

import pytest
from faults.faultkit import App, Plan, Recorder, iso_seconds, record_result
from harness.operators import Operators
from harness.waiting import eventually

from canary.controller.failpoints import EXIT_CODE
from canary.sandbox.processes import Child

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 4, 3, 1
STEPS = (10, 30, 60, 90)


def election_args(namespace: str) -> list[str]:
    return [
        "--leader-elect",
        "--lease-name=fault-tests",
        f"--lease-namespace={namespace}",
        f"--lease-duration={LEASE_DURATION}",
        f"--renew-deadline={RENEW_DEADLINE}",
        f"--retry-period={RETRY_PERIOD}",
    ]


def became_leader(operators: Operators, child: Child) -> float | None:
    for line in operators.lines(child):
        if line.get("event") == "became leader":
            return iso_seconds(line["timestamp"])
    return None


@pytest.mark.parametrize("moment", ["rollback-pending", "between-rollback-writes"])
async def test_leader_dies_during_a_rollback(
    moment: str, fault_app: App, operators: Operators
) -> None:
    operators.extra_args = election_args(fault_app.namespace)
    plan = Plan("api", STEPS, healthy=False, fail_at=30)
    await fault_app.setup([plan.name])
    await fault_app.wait_until_accepted([plan.name])
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        recorder.on_route.append(fault_app.turn_bad_at_fail_at())
        env = {"CANARY_FAILPOINTS": "after-status-write:RollingBack"}
        leader = operators.start(env=env if moment == "between-rollback-writes" else None)

        async def leads(child: Child) -> float | None:
            return became_leader(operators, child)

        await eventually(lambda: leads(leader), within=60, what="the first replica to lead")
        standby = operators.start()
        recorder.track(plan)
        await fault_app.create(plan)
        if moment == "rollback-pending":

            async def failed_once() -> bool:
                statuses = recorder.histories[plan.name].statuses
                return bool(statuses) and statuses[-1].failed_checks >= 1

            await eventually(failed_once, within=60, what="the first failed check")
            died = operators.kill(leader)
        else:
            code = await operators.wait_exit(leader, within=60)
            died = time.time()
            assert code == EXIT_CODE, f"the leader missed its fail point:\n{leader.log_tail()}"
        weight_at_death = recorder.canary_weight(plan.name)
        took = await eventually(
            lambda: leads(standby), within=LEASE_DURATION * 4, what="the standby to lead"
        )
        await recorder.wait_finished(within=90)

        async def settled() -> bool:
            return time.time() - recorder.last_change() > 3

        await eventually(settled, within=60, what="the writes to stop")
        violations = recorder.violations()
        history = recorder.histories[plan.name]
    record_result(
        f"failover-{moment}",
        {
            "injected": (
                "leader SIGKILLed after the first failed check (rollback pending)"
                if moment == "rollback-pending"
                else "leader SIGKILLs itself at fail point after-status-write:RollingBack "
                "(rollback recorded, route not yet written)"
            ) + "; a standby holds the Lease next",
            "injections": 1,
            "rollouts": 1,
            **recorder.totals(),
            "weight_at_death": weight_at_death,
            "takeover_s": round(took - died, 2),
            "lease": f"{LEASE_DURATION}/{RENEW_DEADLINE}/{RETRY_PERIOD} s",
            "weights": history.weights(),
            "violations": len(violations),
            "violation_samples": violations,
        },
    )
    assert not violations, "\n".join(violations)
    assert took - died <= LEASE_DURATION + 2 * RETRY_PERIOD + 2, f"takeover took {took - died:.1f}s"
