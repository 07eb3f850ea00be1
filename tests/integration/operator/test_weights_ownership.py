"""Issue 10, bug 2: two writers of one rule's weights must never fight on live traffic.

A second Canary naming the same route and backends gets a condition and an Event naming the
owner and never writes; a foreign writer (here: a loop patching the weights as another
controller would, with its own field manager) is detected by repeated drift and the Canary holds,
naming the field manager. Before the fix, the two rewrote the weights hundreds of times in ten
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import pytest
from harness.app import App, canary_manifest, condition, require_condition
from harness.cli import Cli
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import CANARY, HTTPROUTE
from canary.sandbox.controlplane.launcher import ControlPlane

pytestmark = pytest.mark.integration


async def _watch_weights(app: App, seconds: float) -> list[int]:
    """Every canary weight the route shows, in order, polled every 20 ms for `seconds`."""
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        weight = (await app.weights())[1]
        if not seen or seen[-1] != weight:
            seen.append(weight)
        await asyncio.sleep(0.02)
    return seen


async def _at_a_long_first_step(app: App, operator: Operators) -> None:
    """A rollout of Canary `api` at its first step (10 %), which lasts an hour."""
    await app.roll_out(operator, 100, steps={"weights": [10, 20], "interval": "1h"})
    await eventually(lambda: _canary_at(app, 10), within=60, what="the first step")


async def _generation(app: App) -> int:
    return int((await app.route())["metadata"]["generation"])


async def test_a_second_canary_on_the_same_route_never_writes_and_names_the_owner(
    app: App, operator: Operators, control_plane: ControlPlane
) -> None:
    await _at_a_long_first_step(app, operator)
    second = canary_manifest(app.namespace, steps={"weights": [40, 80], "interval": "2s"})
    second["metadata"]["name"] = "intruder"
    before = await _generation(app)
    await app.kube.create(CANARY, second, app.namespace)

    async def told() -> dict[str, Any] | None:
        status = (await app.kube.get(CANARY, "intruder", app.namespace)).get("status") or {}
        found = condition(status, "WeightsInSync")
        return status if found and found["reason"] == "OwnedByAnotherCanary" else None

    status = await eventually(told, within=30, what="the second Canary to be told")
    seen = await _watch_weights(app, seconds=10)
    assert seen == [10], f"the weights moved: {seen}"
    assert await _generation(app) == before, "the route was written"
    assert "Canary api owns the weights" in require_condition(status, "WeightsInSync")["message"]
    assert status["phase"] == "Pending" and status.get("canaryWeight", 0) == 0
    events = [e for e in await app.events() if e["regarding"]["name"] == "intruder"]
    owned = [e for e in events if e["reason"] == "OwnedByAnotherCanary"]
    assert len(owned) == 1 and "Canary api owns" in owned[0]["note"]
    owner = await app.status()
    assert require_condition(owner, "WeightsInSync")["status"] == "True"
    checked = await Cli(control_plane.kubeconfig, app.namespace).run("check", "intruder")
    assert checked.code == 1, checked.text
    assert "Canary api already owns the weights" in checked.text
    assert "OwnedByAnotherCanary" in checked.text

    # The owner goes away: the second Canary takes over and starts its own rollout.
    await app.kube.delete(CANARY, "api", app.namespace)
    await eventually(lambda: _canary_at(app, 40), within=60, what="the second Canary at 40%")


async def test_a_foreign_writer_that_keeps_changing_the_weights_is_held_off_not_fought(
    app: App, operator: Operators, control_plane: ControlPlane
) -> None:
    await _at_a_long_first_step(app, operator)
    foreign = await Kube.connect(kubeconfig=control_plane.kubeconfig, field_manager="flagger")
    async with foreign:
        fighter = asyncio.create_task(_keep_setting(foreign, app, weight=40))
        try:
            seen = await _watch_weights(app, seconds=12)
        finally:
            fighter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fighter
    flips = sum(1 for a, b in itertools.pairwise(seen) if b == 10 and a != 10)
    assert flips <= 2, f"the operator fought the other writer: {seen}"
    assert seen[-1] == 40
    status = await app.status()
    in_sync = require_condition(status, "WeightsInSync")
    assert in_sync["status"] == "False" and in_sync["reason"] == "ContestedByFieldManager"
    assert "'flagger'" in in_sync["message"]
    assert status["phase"] == "Progressing" and status["canaryWeight"] == 10
    assert status["routeWeight"] == 40
    await app.wait_for_events("WeightsContested")
    checked = await Cli(control_plane.kubeconfig, app.namespace).run("check", "api")
    assert checked.code == 1 and "ContestedByFieldManager" in checked.text, checked.text

    # Someone puts the weights back: the Canary carries on from where it held.
    await _set(app.kube, app, weight=10)
    await eventually(lambda: _in_sync(app), within=30, what="WeightsInSync=True again")


async def _keep_setting(kube: Kube, app: App, *, weight: int) -> None:
    """Another controller's reconcile loop: put its weight back whenever it differs."""
    while True:
        route = await kube.get(HTTPROUTE, "api-route", app.namespace)
        refs = route["spec"]["rules"][0]["backendRefs"]
        if int(refs[1].get("weight", 1)) != weight:
            with contextlib.suppress(Exception):
                await _set(kube, app, weight=weight)
        await asyncio.sleep(0.2)


async def _set(kube: Kube, app: App, *, weight: int) -> None:
    patch = [
        {"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 100 - weight},
        {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": weight},
    ]
    await kube.patch(HTTPROUTE, "api-route", patch, namespace=app.namespace, patch_type="json")


async def _canary_at(app: App, weight: int) -> bool:
    return (await app.weights())[1] == weight


async def _in_sync(app: App) -> bool:
    found = condition(await app.status(), "WeightsInSync")
    return bool(found and found["status"] == "True")


async def test_a_promoted_route_reapplied_from_git_shows_its_real_weight_and_says_so(
    app: App, operator: Operators, control_plane: ControlPlane
) -> None:
    """Issue 10, point 4: kubectl shows what the route carries, not what the Canary once set."""
    await app.roll_out(operator, 100, steps={"weights": [50], "interval": "1s"})

    async def succeeded() -> bool:
        return (await app.status()).get("phase") == "Succeeded"

    await eventually(succeeded, within=60, what="Succeeded")
    assert (await app.status())["routeWeight"] == 100
    await _set(app.kube, app, weight=0)  # `kubectl apply` of the route from Git

    async def reported() -> dict[str, Any] | None:
        status = await app.status()
        found = condition(status, "WeightsInSync")
        return status if found and found["reason"] == "RouteChanged" else None

    status = await eventually(reported, within=30, what="WeightsInSync=False/RouteChanged")
    assert status["phase"] == "Succeeded" and status["routeWeight"] == 0
    in_sync = require_condition(status, "WeightsInSync")
    assert "changed after the rollout finished" in in_sync["message"]
    assert await app.weights() == (100, 0), "a finished rollout's route must be left alone"
    row = control_plane.kubectl("get", "canaries", "-n", app.namespace).splitlines()[1].split()
    assert row[:3] == ["api", "Succeeded", "0"], row
    await app.wait_for_events("RouteChanged")
