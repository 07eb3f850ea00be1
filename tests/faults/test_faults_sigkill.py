"""SIGKILL of the operator: at random moments of 100 rollouts (seeded), and at each write of a
promotion and of a rollback (fail points). After every kill a new operator process takes over;
the rollouts recorded from the test's watches must keep every invariant (invariants.py)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest
from faults.faultkit import App, Plan, Recorder, record_result
from harness.operators import Operators
from harness.waiting import eventually

from canary.controller.failpoints import EXIT_CODE

SEED = int(os.environ.get("CANARY_FAULT_SEED", "20250301"))
ROLLOUTS, WAVES = 100, 4
STARTUP_KILLS = 0.2  # share of kills at 0.3-2 s after start, before the caches may be synced
SCHEDULES = ((10, 30, 60), (5, 25, 50, 75), (20, 40, 60, 80), (50,), (10, 20, 40, 70, 90))


def random_plans(rng: random.Random, wave: int, count: int) -> list[Plan]:
    plans = []
    for i in range(count):
        steps = rng.choice(SCHEDULES)
        healthy = rng.random() < 0.7
        fail_at = None
        if not healthy and len(steps) >= 4 and rng.random() < 0.5:
            fail_at = steps[1]  # turns bad mid-rollout: at least two more checks before the end
        plans.append(Plan(f"w{wave}r{i:02d}", steps, healthy=healthy, fail_at=fail_at))
    return plans


async def test_sigkill_at_random_moments_of_100_rollouts(
    fault_app: App, operators: Operators
) -> None:
    rng = random.Random(SEED)
    per_wave = ROLLOUTS // WAVES
    kill_delays: list[float] = []
    startup_kills: list[float] = []
    started = time.monotonic()
    violations: list[str] = []
    totals: dict[str, int] = {}
    rollouts = 0
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        recorder.on_route.append(fault_app.turn_bad_at_fail_at())
        for wave in range(WAVES):
            plans = random_plans(rng, wave, per_wave)
            await fault_app.setup(p.name for p in plans)
            await fault_app.wait_until_accepted(p.name for p in plans)
            for plan in plans:
                recorder.track(plan)
                await fault_app.create(plan)
            rollouts += len(plans)
            names = [p.name for p in plans]

            async def killer() -> None:
                while True:
                    child = operators.start()
                    if rng.random() < STARTUP_KILLS:  # while it lists and fills its caches
                        delay = rng.uniform(0.3, 2.0)
                        startup_kills.append(delay)
                    else:
                        await operators.wait_ready(child)
                        delay = rng.uniform(0.0, 2.5)
                        kill_delays.append(delay)
                    await asyncio.sleep(delay)
                    operators.kill(child)

            task = asyncio.create_task(killer())
            try:
                await recorder.wait_finished(names, within=240)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            operators.kill()
        violations = recorder.violations()
        explained = recorder.explain(violations)
        totals = recorder.totals()
    record_result(
        "sigkill-random",
        {
            "injected": "SIGKILL of the operator at a random moment (0-2.5 s after its caches "
            "synced; 1 in 5: 0.3-2 s after its start), restarted at once",
            "injections": operators.kills,
            "rollouts": rollouts,
            **totals,
            "seed": SEED,
            "operator_processes": len(operators.started),
            "kills_during_startup": len(startup_kills),
            "mean_life_after_sync_s": round(sum(kill_delays) / max(1, len(kill_delays)), 2),
            "seconds": round(time.monotonic() - started, 1),
            "violations": len(violations),
            "violation_samples": explained[:60],
        },
    )
    assert operators.kills >= ROLLOUTS // 10, f"only {operators.kills} kills"
    assert not violations, "\n".join(explained[:60])
    assert totals["succeeded"] + totals["rolled_back"] == ROLLOUTS


# Each write a promotion makes (status Promoting, route 100 %, status Succeeded) and a rollback
# makes (status RollingBack, route 0 %, status RolledBack), with the fail point just before or
# just after it.
PROMOTION_STEPS = (20, 60)
FAIL_POINTS = {
    "before-status-write:Promoting": True,
    "after-status-write:Promoting": True,  # = just before the promotion's route write
    "before-status-write:Succeeded": True,  # = just after the promotion's route write
    "after-status-write:Succeeded": True,
    "before-status-write:RollingBack": False,  # the rollback is decided, nothing recorded yet
    "after-status-write:RollingBack": False,  # = just before the rollback's route write
    "before-route-write:2": False,  # the rollback's route write (the 2nd: 20 %, then 0 %)
    "before-status-write:RolledBack": False,  # = just after the rollback's route write
    "after-status-write:RolledBack": False,
}


@pytest.mark.parametrize("point", list(FAIL_POINTS), ids=lambda p: p.replace(":", "-"))
async def test_sigkill_at_each_write_of_a_promotion_and_a_rollback(
    point: str, fault_app: App, operators: Operators, tmp_path: Path
) -> None:
    healthy = FAIL_POINTS[point]
    plan = Plan("api", PROMOTION_STEPS, healthy=healthy)
    await fault_app.setup([plan.name])
    await fault_app.wait_until_accepted([plan.name])
    async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
        recorder.track(plan)
        first = operators.start(env={"CANARY_FAILPOINTS": point})
        await operators.wait_ready(first)
        await fault_app.create(plan)
        code = await operators.wait_exit(first, within=90)
        died = time.time()
        assert code == EXIT_CODE, f"the operator did not stop at {point}:\n{first.log_tail()}"
        assert f"failpoint hit: {point}" in first.log_path.read_text()
        at_death = recorder.histories[plan.name]
        weight_at_death, phase_at_death = recorder.canary_weight(plan.name), recorder.phase(
            plan.name
        )
        operators.start()
        await recorder.wait_finished(within=90)

        async def settled() -> bool:  # no further write for 3 s: the rollout is really over
            return time.time() - recorder.last_change() > 3

        await eventually(settled, within=60, what="the writes to stop")
        violations = recorder.violations()
        history = recorder.histories[plan.name]
    finish = history.statuses[-1].at
    record_result(
        f"failpoint-{point.replace(':', '-')}",
        {
            "injected": f"operator SIGKILLs itself at fail point {point}, restarted at once",
            "injections": 1,
            "rollouts": 1,
            **recorder.totals(),
            "at_death": f"{phase_at_death} at {weight_at_death} %",
            "weights": history.weights(),
            "finished_s_after_kill": round(max(0.0, finish - died), 2),
            "violations": len(violations),
            "violation_samples": violations + (history.timeline() if violations else []),
        },
    )
    assert at_death.routes, "nothing recorded before the kill"
    assert not violations, "\n".join([*violations, *history.timeline()])
