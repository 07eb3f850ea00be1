"""The operator on a real control plane, a real Prometheus and a real gateway controller:
promotion, rollback, no data, and the route left exactly as the user wrote it."""

from __future__ import annotations

import asyncio
import copy

import pytest
from harness.app import App, require_condition
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.resources import HTTPROUTE, JsonObj
from canary.sandbox.controlplane.launcher import ControlPlane, kubectl_path

pytestmark = pytest.mark.integration


def _without_weights(route: JsonObj) -> JsonObj:
    """The route minus what the operator may change (managed weights) and server bookkeeping."""
    clone = copy.deepcopy(route)
    for key in ("resourceVersion", "generation", "managedFields"):
        clone["metadata"].pop(key, None)
    clone.pop("status", None)
    for ref in clone["spec"]["rules"][0]["backendRefs"][:2]:
        ref.pop("weight", None)
    return clone


async def test_healthy_canary_goes_step_by_step_to_100_and_is_promoted(
    app: App,
    operator: Operators,
    control_plane: ControlPlane,
) -> None:
    app.set_success(100)
    before = _without_weights(await app.route())
    await app.create_canary()
    operator.start()
    waiter = await asyncio.create_subprocess_exec(
        str(kubectl_path()),
        f"--kubeconfig={control_plane.kubeconfig}",
        "-n",
        app.namespace,
        "wait",
        "--for=condition=Promoted",
        "canary/api",
        "--timeout=120s",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[int] = []

    async def record_until_promoted() -> JsonObj | None:
        weights = await app.weights()
        if not seen or seen[-1] != weights[1]:
            seen.append(weights[1])
        return await app.phase("Succeeded")

    status = await eventually(record_until_promoted, within=120, what="phase Succeeded")
    assert await app.weights() == (0, 100)
    assert seen == sorted(seen), f"the canary weight went backwards: {seen}"
    # Polling may miss a short step on a loaded machine (a CI run saw 0, 5, 50, 75, 100); that
    # every step was written, in order, is asserted from the operator's own log below.
    assert set(seen) <= {0, 5, 25, 50, 75, 100}, seen
    assert require_condition(status, "Promoted")["status"] == "True"
    assert status["failedChecks"] == 0
    assert _without_weights(await app.route()) == before, "the operator touched user fields"
    _, wait_errors = await asyncio.wait_for(waiter.communicate(), timeout=60)
    assert waiter.returncode == 0, wait_errors.decode()
    reasons = await app.wait_for_events("Promoted")
    assert reasons.count("StepAdvanced") >= 3
    passes = [line for line in operator.all_lines() if line.get("event") == "reconciled"]
    assert [p["weights"]["canary"] for p in passes if p["wrote_route"]] == [5, 25, 50, 75, 100]
    quiet_writes = [p for p in passes if p["wrote_status"] and not p["actions"]]
    assert len(quiet_writes) <= 1, f"status written without a transition: {quiet_writes}"
    table = control_plane.kubectl("get", "canaries", "-n", app.namespace)
    header, row = table.splitlines()[:2]
    assert "PHASE" in header and "WEIGHT" in header
    assert "Succeeded" in row and "100" in row


async def test_failing_canary_rolls_back_after_exactly_the_threshold(
    app: App,
    operator: Operators,
) -> None:
    await app.roll_out(operator, 50)
    status = await app.until_phase("RolledBack", within=90)
    assert status["failedChecks"] == 2
    assert await app.weights() == (100, 0)
    assert require_condition(status, "RolledBack")["status"] == "True"
    gate = status["metrics"][0]
    assert gate["verdict"] == "Fail" and gate["value"] == 50
    assert "{{" not in gate["query"] and "api-svc-v2" in gate["query"]
    reasons = await app.wait_for_events("RolledBack")
    assert reasons.count("MetricCheckFailed") == 2


async def test_no_data_holds_the_rollout_then_counts_as_a_failure_at_the_limit(
    app: App,
    operator: Operators,
) -> None:
    app.set_success(None)
    analysis = {
        "failureThreshold": 1,
        "inconclusiveLimit": 3,
        "metrics": [
            {
                "name": "success-rate",
                "min": 99,
                "onNoData": "Inconclusive",
                "query": 'absent_metric_for_test{service="{{ canary_service }}"}',
            }
        ],
    }
    await app.create_canary(analysis=analysis)
    operator.start()

    async def holding_with_no_data() -> JsonObj | None:
        status = await app.status()
        metrics = status.get("metrics") or []
        if metrics and metrics[0]["outcome"] == "NoData":
            return status
        return None

    held = await eventually(holding_with_no_data, within=60, what="a NoData check")
    assert held["phase"] == "Progressing"
    assert held["canaryWeight"] == 5, "no data must not advance the rollout"
    assert held["metrics"][0]["verdict"] == "Inconclusive"
    status = await app.until_phase("RolledBack", within=60)
    assert status["failedChecks"] == 1
    assert await app.weights() == (100, 0)
    await app.wait_for_events("MetricNoData", "RolledBack")


async def test_no_data_with_pass_policy_lets_the_rollout_through(
    app: App,
    operator: Operators,
) -> None:
    analysis = {
        "metrics": [
            {
                "name": "quiet",
                "min": 99,
                "onNoData": "Pass",
                "query": 'absent_metric_for_test{service="{{ canary_service }}"}',
            }
        ]
    }
    await app.create_canary(analysis=analysis)
    operator.start()
    status = await eventually(
        lambda: app.phase("Succeeded", "RolledBack"), within=90, what="the rollout to finish"
    )
    assert status["phase"] == "Succeeded"
    assert status["metrics"][0]["outcome"] == "NoData"
    assert status["metrics"][0]["verdict"] == "Pass"


async def test_user_edit_to_another_rule_during_the_rollout_survives(
    app: App,
    operator: Operators,
) -> None:
    await app.roll_out(operator, 100, steps={"weights": [5, 25, 50], "interval": "2s"})
    await app.until_phase("Progressing", within=60)
    patch = [
        {
            "op": "add",
            "path": "/spec/rules/1/matches/0/headers",
            "value": [{"name": "X-Legacy", "value": "1"}],
        }
    ]
    await app.kube.patch(HTTPROUTE, "api-route", patch, namespace=app.namespace, patch_type="json")
    await app.until_phase("Succeeded", within=90)
    route = await app.route()
    assert route["spec"]["rules"][1]["matches"][0]["headers"] == [
        {"name": "X-Legacy", "value": "1", "type": "Exact"}
    ]
    assert await app.weights() == (0, 100)


async def test_an_idle_operator_writes_nothing(app: App, operator: Operators) -> None:
    await app.roll_out(operator, 100, steps={"weights": [50], "interval": "1s"}, resync=1)
    await app.until_phase("Succeeded", within=60)
    await operator.reconciles(app.key, 2, within=30)  # the last writes are in the watch caches
    canary_rv = (await app.canary())["metadata"]["resourceVersion"]
    route_rv = (await app.route())["metadata"]["resourceVersion"]
    events = len(await app.events())
    await operator.reconciles(app.key, 5, within=30)  # five passes (1 s resync): none may write
    assert (await app.canary())["metadata"]["resourceVersion"] == canary_rv
    assert (await app.route())["metadata"]["resourceVersion"] == route_rv
    assert len(await app.events()) == events
    reconciles = [line for line in operator.all_lines() if line.get("event") == "reconciled"]
    assert len(reconciles) >= 3
