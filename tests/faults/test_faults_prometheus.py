"""Prometheus unreachable (the real server stopped) or answering errors (HTTP 500 from a loopback
proxy in front of it) for several step intervals mid-rollout: no step advances while it is down,
and each gate's declared `onError` policy decides: `Inconclusive` (with `inconclusiveLimit: 0`)
holds the step and goes on once Prometheus is back; `Fail` counts failed checks and rolls back
at exactly `failureThreshold`."""

from __future__ import annotations

import asyncio
import time

import pytest
from faults.faultkit import App, Plan, Recorder, gate_query, record_result, start_rollouts
from harness.operators import Operators

from canary.sandbox.faultproxy import FaultProxy
from canary.sandbox.prometheus import PrometheusServer

OUTAGE = 8.0  # eight step intervals
GRACE = 1.0  # a check already answered when the fault starts may still be written
STEPS = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def gate_plan(name: str, on_error: str, **analysis: object) -> Plan:
    gate = {"name": "success-rate", "query": gate_query(), "min": 99, "onError": on_error}
    block = {"failureThreshold": 2, "metrics": [gate], **analysis}
    expect = "Succeeded" if on_error == "Inconclusive" else "RolledBack"
    return Plan(name, STEPS, analysis=block, expect=expect)


@pytest.mark.parametrize("mode", ["unreachable", "http-500"])
async def test_prometheus_down_for_several_intervals(
    mode: str,
    fault_app: App,
    operators: Operators,
    prometheus: PrometheusServer,
) -> None:
    plans = [
        gate_plan("hold", "Inconclusive", inconclusiveLimit=0),
        gate_plan("fail", "Fail"),
    ]
    await fault_app.setup(p.name for p in plans)
    await fault_app.wait_until_accepted(p.name for p in plans)
    with FaultProxy(prometheus.url) as proxy:
        if mode == "http-500":
            operators.prometheus_url = proxy.url
        async with Recorder(fault_app.kube, fault_app.namespace) as recorder:
            await start_rollouts(operators, fault_app, recorder, plans)
            await recorder.wait_under_way(plans, what="both rollouts at 20 %")
            at_fault = {p.name: recorder.canary_weight(p.name) for p in plans}
            down = time.time()
            if mode == "unreachable":
                await asyncio.to_thread(prometheus.stop_process)
            else:
                proxy.fail(500)
            try:
                await asyncio.sleep(OUTAGE)
                back = time.time()  # Prometheus may answer from here on
            finally:  # the session's Prometheus: later tests need it back
                if mode == "unreachable":
                    await asyncio.to_thread(prometheus.restart)
                else:
                    proxy.forward()
            await recorder.wait_finished(within=120)
            window = ((down + GRACE, back),)
            violations = recorder.violations(no_rise_windows=window)
            histories = recorder.histories
        hold, fail = histories["hold"], histories["fail"]
        errors = {
            name: sum("Error" in s.outcomes for s in h.statuses if down <= s.at <= back + GRACE)
            for name, h in histories.items()
        }
        record_result(
            f"prometheus-{mode}",
            {
                "injected": (
                    "Prometheus process stopped" if mode == "unreachable"
                    else "every query answered HTTP 500 by a proxy"
                ) + f" for {OUTAGE:.0f} s (8 intervals)",
                "injections": 1,
                "rollouts": len(plans),
                **recorder.totals(),
                "error_checks_hold": errors["hold"],
                "error_checks_fail": errors["fail"],
                "weights_at_fault": at_fault,
                "route_writes_during": {
                    name: len(
                        {s.generation for s in h.routes if down + GRACE < s.at <= back}
                        - {s.generation for s in h.routes if s.at <= down + GRACE}
                    )
                    for name, h in histories.items()
                },
                "fail_failed_checks": fail.statuses[-1].failed_checks,
                "proxy_failed_answers": proxy.answered["failed"],
                "violations": len(violations),
                "violation_samples": violations,
            },
        )
    assert not violations, "\n".join(violations)
    assert errors["hold"] >= 1, "no check of the Inconclusive gate saw the error"
    assert errors["fail"] >= 1, "no check of the Fail gate saw the error"
    assert hold.statuses[-1].failed_checks == 0
    if mode == "http-500":
        assert proxy.answered["failed"] >= 2
