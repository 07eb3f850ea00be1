"""Failover: two replicas started with the chart's arguments and ServiceAccount on one control
plane. The leader is killed mid-rollout; the standby takes the Lease within the lease duration
and finishes the rollout, and no step is applied twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from harness.install import App, Installed, Operator, Replicas
from harness.waiting import eventually

from canary.kube.resources import EVENT, HTTPROUTE, LEASE, JsonObj

pytestmark = pytest.mark.integration

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 4, 3, 1
WEIGHTS = (10, 20, 30, 40, 50, 60, 70, 80, 90)


async def test_standby_takes_over_a_killed_leader_and_finishes_without_repeating_a_step(
    install_rbac: Any, app: App, tmp_path: Path,
) -> None:
    installed, lease_name, group = _install(install_rbac, app, tmp_path)
    try:
        first = group.start()
        await eventually(lambda: _ready(first, "leading"), within=60, what="a leader")
        second = group.start()
        await eventually(lambda: _ready(second, "standby"), within=60, what="a standby")
        assert "canary_operator_leader 0.0" in second.metrics()

        app.set_success(100)
        generation_before = await _route_generation(app)
        await app.create_canary(weights=WEIGHTS, interval="1s")
        await eventually(lambda: _weight_at_least(app, 40), within=90, what="weight 40")
        holder = await _holder(app, installed.namespace, lease_name)
        leader, standby = (first, second) if holder == first.identity() else (second, first)
        assert holder == leader.identity() and standby.identity() is None

        killed_at = leader.kill()
        await eventually(lambda: _leads(standby), within=LEASE_DURATION * 3,
                         what="the standby to lead", detail=standby.tail)
        took_over = time.monotonic() - killed_at
        # The lease duration counts from the last renewal the standby *saw*; it looks once per
        # retry period, and acquires on its next try: at most two retry periods late.
        assert took_over <= LEASE_DURATION + 2 * RETRY_PERIOD + 1.0, (
            f"the standby took {took_over:.1f}s to take over"
        )
        await eventually(lambda: _phase(app, "Succeeded"), within=120, what="Succeeded",
                         detail=standby.tail)
        assert await app.weights() == (0, 100)

        lease = await app.kube.get(LEASE, lease_name, installed.namespace)
        assert lease["spec"]["holderIdentity"] == standby.identity()
        assert lease["spec"]["leaseTransitions"] == 1
        assert await _ready(standby, "leading")
        scrape = standby.metrics()
        assert "canary_operator_leader 1.0" in scrape
        assert f'canary_operator_canary_phase{{canary="api",namespace="{app.namespace}",' \
               f'phase="Succeeded"}} 1.0' in scrape

        # Every spec change bumps the route's generation: one per step plus the promotion,
        # whoever made it. A repeated or reverted step would add more.
        route_writes = await _route_generation(app) - generation_before
        assert route_writes == len(WEIGHTS) + 1, f"{route_writes} route writes"
        # The canonical log lines of both replicas (a killed one may not have logged its last).
        written = [line["weights"]["canary"] for line in group.reconciled()
                   if line["canary"] == f"{app.namespace}/api" and line["wrote_route"]]
        assert written == sorted(set(written)), f"a step was applied twice or backwards: {written}"
        by_leader = {op.name: [line for line in op.lines() if line.get("event") == "reconciled"]
                     for op in (leader, standby)}
        assert by_leader[leader.name] and by_leader[standby.name], "both must have reconciled"
        steps = [e.get("note") for e in await _events(app) if e.get("reason") == "StepAdvanced"]
        assert len(steps) == len(set(steps)), f"a step was announced twice: {steps}"

        standby.child.stop()  # SIGTERM: a clean shutdown hands the lease back
        assert standby.child.process.returncode == 0
        assert await _holder(app, installed.namespace, lease_name) == ""
    finally:
        group.stop()


async def test_leader_whose_lease_is_taken_stops_and_exits_at_once(
    install_rbac: Any, app: App, tmp_path: Path,
) -> None:
    installed, lease_name, group = _install(install_rbac, app, tmp_path, {"replicaCount": 1})
    try:
        operator = group.start()
        await eventually(lambda: _ready(operator, "leading"), within=60, what="a leader")
        lease = await app.kube.get(LEASE, lease_name, installed.namespace)
        lease["spec"]["holderIdentity"] = "someone-else"
        await app.kube.replace(LEASE, lease_name, lease, namespace=installed.namespace)
        taken = time.monotonic()
        await eventually(lambda: _exited(operator), within=RENEW_DEADLINE * 3,
                         what="the operator to exit", detail=operator.tail)
        assert time.monotonic() - taken <= RETRY_PERIOD + 2.0
        assert operator.child.process.returncode == 1
        lost = [line for line in operator.lines() if line.get("event", "").startswith(
            "leadership lost")]
        assert lost and "someone-else" in lost[0]["error"]
        still = await app.kube.get(LEASE, lease_name, installed.namespace)
        assert still["spec"]["holderIdentity"] == "someone-else", "a losing leader released it"
    finally:
        group.stop()


def _install(install_rbac: Any, app: App, tmp_path: Path, values: dict[str, Any] | None = None,
             ) -> tuple[Installed, str, Replicas]:
    """The chart's RBAC with short leader-election timings; its Lease name; replicas to start."""
    installed: Installed = install_rbac({
        **(values or {}),
        "watch.namespaces": [app.namespace],
        "operator.prometheusAddress": app.prometheus_url,
        "leaderElection.leaseDuration": LEASE_DURATION,
        "leaderElection.renewDeadline": RENEW_DEADLINE,
        "leaderElection.retryPeriod": RETRY_PERIOD,
    })
    lease_name = f"{installed.release}-canary-operator"
    return installed, lease_name, Replicas(installed.args, installed.kubeconfig,
                                           installed.namespace, tmp_path)


async def _exited(operator: Operator) -> bool:
    return not operator.child.alive()


async def _ready(operator: Operator, state: str) -> bool:
    try:
        code, body = operator.readyz()
    except OSError:
        return False
    return code == 200 and body.startswith(state)


async def _leads(operator: Operator) -> str | None:
    return operator.identity()


async def _holder(app: App, namespace: str, name: str) -> str:
    lease = await app.kube.get(LEASE, name, namespace)
    return str(lease["spec"]["holderIdentity"])


async def _weight_at_least(app: App, weight: int) -> JsonObj | None:
    status = await app.status()
    return status if status.get("canaryWeight", 0) >= weight else None


async def _phase(app: App, wanted: str) -> JsonObj | None:
    status = await app.status()
    return status if status.get("phase") == wanted else None


async def _route_generation(app: App) -> int:
    route = await app.kube.get(HTTPROUTE, "api-route", app.namespace)
    return int(route["metadata"]["generation"])


async def _events(app: App) -> list[JsonObj]:
    items, _ = await app.kube.list(EVENT, app.namespace)
    return items
