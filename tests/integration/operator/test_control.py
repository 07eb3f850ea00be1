"""Manual control through the spec, the route-attachment gate, restarts and deletion, with the
operator running as a real process against a real control plane."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from harness.app import App, condition, require_condition
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.errors import NotFound
from canary.kube.resources import CANARY, HTTPROUTE, JsonObj

pytestmark = pytest.mark.integration


# A Canary that must hold is watched for this many reconciles (the operator runs with a 1 s
# resync, so each is at most a second apart, like the 1 s step intervals it must not take).
HOLD_PASSES = 3


async def test_paused_canary_never_moves_traffic_until_resumed(
    app: App,
    operator: Operators,
) -> None:
    await app.roll_out(operator, 100, paused=True, resync=1)
    status = await app.until_phase("Paused", within=60)
    assert require_condition(status, "Paused")["status"] == "True"
    await operator.reconciles(app.key, HOLD_PASSES, within=30)  # a paused canary must not advance
    assert await app.weights() == (100, 0)
    await app.kube.patch(CANARY, "api", {"spec": {"paused": False}}, namespace=app.namespace)
    await app.until_phase("Succeeded", within=90)


async def test_pause_step_holds_until_a_promote_request(
    app: App,
    operator: Operators,
) -> None:
    steps = {"weights": [5, 25, 50], "interval": "1s", "pauses": [{"atWeight": 25}]}
    await app.roll_out(operator, 100, steps=steps, resync=1)

    async def held_at_25() -> JsonObj | None:
        status = await app.status()
        paused = condition(status, "Paused")
        ok = status.get("canaryWeight") == 25 and paused and paused["status"] == "True"
        return status if ok else None

    await eventually(held_at_25, within=60, what="the pause at 25%")
    await operator.reconciles(app.key, HOLD_PASSES, within=30)  # it must hold on its own
    assert (await app.status())["canaryWeight"] == 25
    await app.request("promote")
    await app.until_phase("Succeeded", within=60)
    assert await app.weights() == (0, 100)


async def test_abort_rolls_back_at_once_and_retry_starts_again(
    app: App,
    operator: Operators,
) -> None:
    await app.at_first_step(operator, [5, 25, 50], "3s")
    await app.request("abort")
    status = await app.until_phase("RolledBack", within=30)
    assert require_condition(status, "RolledBack")["reason"] == "Aborted"
    assert await app.weights() == (100, 0)
    await app.request("retry")
    await app.until_phase("Succeeded", within=90, what="Succeeded after retry")
    await app.wait_for_events("Aborted", "RolledBack", "Retried")


async def test_promote_full_request_skips_the_remaining_steps(
    app: App,
    operator: Operators,
) -> None:
    await app.at_first_step(operator, [5, 10, 15, 20], "30s")
    await app.request("promoteFull")
    await app.until_phase("Succeeded", within=30)
    assert await app.weights() == (0, 100)


async def test_route_not_allowed_by_its_gateway_holds_with_the_reason(
    app: App,
    operator: Operators,
) -> None:
    app.set_success(100)
    await app.admit_only_labelled_namespaces()
    await app.create_canary()
    operator.start(resync=1)

    async def not_accepted() -> JsonObj | None:
        status = await app.status()
        route = condition(status, "RouteAccepted")
        return status if route and route["status"] == "False" else None

    status = await eventually(not_accepted, within=60, what="RouteAccepted=False")
    accepted = require_condition(status, "RouteAccepted")
    assert accepted["reason"] == "NotAllowedByListeners"
    assert "allowedRoutes" in accepted["message"]
    await operator.reconciles(app.key, HOLD_PASSES, within=30)  # no weight may change
    assert await app.weights() == (100, 0)
    assert (await app.status())["canaryWeight"] == 0
    await app.wait_for_events("RouteNotAccepted")


async def test_route_naming_a_gateway_that_does_not_exist_holds_with_gateway_not_found(
    app: App,
    operator: Operators,
) -> None:
    """The refusal below is written by the test, under another controller's name: Contour
    serves only Gateway `gw` (static mode) and writes nothing for a parent that does not exist,
    but some controllers do write such a refusal, and it must not mislead the diagnosis."""
    app.set_success(100)
    parent = {"name": "no-such-gateway"}
    await app.kube.patch(
        HTTPROUTE, "api-route", {"spec": {"parentRefs": [parent]}}, namespace=app.namespace
    )
    # Some controllers still write a refusal for a parent that does not exist: it must not
    # turn the diagnosis into a listener problem.
    refusal = {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", **parent},
        "controllerName": "example.com/another-gateway-controller",
        "conditions": [
            {
                "type": "Accepted",
                "status": "False",
                "reason": "NotAllowedByListeners",
                "message": "No listeners included by this parent ref allowed this attachment.",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    await app.kube.patch(
        HTTPROUTE,
        "api-route",
        {"status": {"parents": [refusal]}},
        namespace=app.namespace,
        subresource="status",
    )
    await app.create_canary()
    operator.start(resync=1)

    async def gateway_not_found() -> JsonObj | None:
        route = condition(await app.status(), "RouteAccepted")
        return route if route and route["reason"] == "GatewayNotFound" else None

    accepted = await eventually(gateway_not_found, within=60, what="RouteAccepted GatewayNotFound")
    assert accepted["status"] == "False"
    message = accepted["message"]
    assert f"Gateway no-such-gateway in namespace {app.namespace} does not exist" in message
    assert "create it or fix spec.parentRefs" in message
    assert "allowedRoutes" not in message and "listener" not in message
    await operator.reconciles(app.key, HOLD_PASSES, within=30)  # no weight may change
    assert await app.weights() == (100, 0)
    status = await app.status()
    assert (status["phase"], status["canaryWeight"]) == ("Pending", 0)
    await app.wait_for_events("RouteNotAccepted")


async def test_a_query_that_can_never_be_rendered_is_invalid_spec_before_any_traffic_moves(
    app: App,
    operator: Operators,
) -> None:
    app.set_success(100)
    analysis = {
        "metrics": [
            {"name": "fine", "query": 'vector(100) or x{c="{{ canary }}"}', "min": 99},
            # The API server accepts both; neither can ever be rendered for this Canary.
            {"name": "unclosed", "query": 'vector(100) or x{c="{{ canary }"}', "min": 99},
            {"name": "bare", "query": "vector(100) or {{ namespace }}", "min": 99},
        ]
    }
    await app.create_canary(analysis=analysis)
    operator.start(resync=1)
    status = await app.until_phase("Failed", within=60)
    invalid = condition(status, "InvalidSpec")
    assert invalid is not None and invalid["status"] == "True", status
    assert "analysis.metrics[1] (unclosed): the query cannot be rendered" in invalid["message"]
    assert "malformed placeholder" in invalid["message"]
    assert "analysis.metrics[2] (bare)" in invalid["message"]
    assert "Quote the placeholder" in invalid["message"]
    assert "(fine)" not in invalid["message"]
    await app.wait_for_events("InvalidSpec")
    await operator.reconciles(app.key, HOLD_PASSES, within=30)  # no weight may change
    assert await app.weights() == (100, 0)
    status = await app.status()
    assert status["phase"] == "Failed" and status.get("canaryWeight", 0) == 0
    assert not status.get("metrics"), "no check may have run"
    passes = [line for line in operator.all_lines() if line.get("event") == "reconciled"]
    assert passes and not any(p["wrote_route"] for p in passes)


async def test_restarted_operator_resumes_without_repeating_or_skipping_a_step(
    app: App,
    operator: Operators,
) -> None:
    app.set_success(100)
    interval = 6
    await app.create_canary(steps={"weights": [5, 25, 50, 75], "interval": f"{interval}s"})
    operator.start()
    first = await eventually(lambda: app.weight_at_least(25), within=60, what="step 2")
    operator.kill()
    step_applied = dt.datetime.fromisoformat(first["stepStartedAt"])
    await asyncio.sleep(3)
    # From the route as the killed operator left it: it writes the status first, so a kill
    # between the two writes leaves the route a step behind the status read above (5, not 25).
    seen = [(await app.weights())[1]]
    operator.start()

    async def record_until_done() -> JsonObj | None:
        weights = await app.weights()
        if seen[-1] != weights[1]:
            seen.append(weights[1])
        return await app.phase("Succeeded")

    await eventually(record_until_done, within=120, what="Succeeded after restart")
    assert seen == sorted(seen), f"the weight went backwards: {seen}"
    assert seen[-1] == 100
    third = [
        e
        for e in await app.events()
        if e.get("reason") == "StepAdvanced" and "50" in (e.get("note") or "")
    ]
    assert len(third) == 1, "step 3 must be applied exactly once"
    advanced = dt.datetime.fromisoformat(third[0]["eventTime"].replace("Z", "+00:00"))
    if seen[0] < 25:
        # Killed between its two writes: step 2 reached the route only from the restarted
        # operator, and its interval counts from the gateway confirming that write (the new
        # weight gets its full exposure), so measure from that route write.
        rewrite = next(
            line["timestamp"]
            for line in operator.lines(operator.current)
            if line.get("event") == "reconciled"
            and line.get("wrote_route")
            and line["weights"]["canary"] == 25
        )
        step_applied = dt.datetime.fromisoformat(rewrite.replace("Z", "+00:00"))
    # Measured from when step 2 was applied, not from the restart 3 s later.
    assert (advanced - step_applied).total_seconds() < interval + 2.5
    written = [
        line["weights"]["canary"]
        for line in operator.all_lines()
        if line.get("event") == "reconciled" and line.get("wrote_route")
    ]
    assert written == sorted(written)
    assert len(written) == len(set(written)), f"a step was written twice: {written}"


async def test_deleting_a_canary_mid_rollout_restores_stable(
    app: App,
    operator: Operators,
) -> None:
    await app.at_first_step(operator, [10, 30, 60], "30s")
    assert (await app.weights())[1] == 10
    await app.kube.delete(CANARY, "api", app.namespace)

    async def gone() -> bool:
        try:
            await app.canary()
        except NotFound:
            return True
        return False

    await eventually(gone, within=60, what="the Canary to be deleted")
    assert await app.weights() == (100, 0)
