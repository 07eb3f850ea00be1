"""The operator on the real Contour when Contour falls behind (issue 12, point 5): Contour is
frozen (SIGSTOP) after it processed the first step, so the second step's weight write goes
unprocessed. The rollout holds at that weight, the Canary reports the lag (RouteAccepted=False,
StatusOutdated) with an Event, and once Contour is thawed and reports the new generation the
step gets its full interval at the new weight, counted from then, not from the write."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from harness.contourworld import ContourWorld, route_manifest
from harness.manifests import canary_manifest, service_manifest
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import CANARY, HTTPROUTE, SERVICE

pytestmark = pytest.mark.integration

INTERVAL = 5.0  # seconds per step
FROZEN = 14.0  # longer than the core's LAG_GRACE (10 s) after its LAG_MARK (2 s)


@pytest.fixture
async def world(kube: Kube, contour_world: ContourWorld) -> ContourWorld:
    """The route and both Services in the app namespace."""
    w = contour_world
    for name in ("api-svc-v1", "api-svc-v2"):
        await kube.create(SERVICE, service_manifest(name), w.app)
    await kube.create(HTTPROUTE, route_manifest(w.app, w.gateway_ns), w.app)
    return w


async def test_a_lagging_contour_holds_the_step_reports_it_and_restarts_its_interval(
    world: ContourWorld,
) -> None:
    kube = world.kube
    body = canary_manifest(world.app, weights=[20, 60], interval=f"{INTERVAL:g}s", analysis={})
    del body["spec"]["analysis"]  # no gates: steps advance on time
    await kube.create(CANARY, body, world.app)
    world.operator.start(resync=5)

    async def weights_are(stable: int, canary: int) -> bool:
        return await world.weights() == (stable, canary)

    # The first step is written and processed by Contour.
    await eventually(lambda: weights_are(80, 20), within=60, what="the first step (20 %)",
                     detail=world.operator.tail)
    await eventually(world.contour_caught_up, within=30, what="Contour at the first step")
    pid = world.contour.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        await eventually(lambda: weights_are(40, 60), within=30, what="the second step (60 %)",
                         detail=world.operator.tail)
        frozen_at = time.monotonic()
        held = await world.held_by("StatusOutdated", within=FROZEN + 10)
        assert "has not processed generation" in held["message"], held["message"]
        notes = [e.get("note", "") for e in await world.events("RouteNotAccepted")]
        assert any("has not processed generation" in n for n in notes), notes
        status = await world.status()
        assert status.get("phase") == "Progressing" and status.get("gatewayLagSince"), status
        # Held: long past the step's interval, nothing moved (a deliberate wait, not a poll).
        await asyncio.sleep(max(0.0, FROZEN - (time.monotonic() - frozen_at)))
        assert await world.weights() == (40, 60)
        assert not await world.contour_caught_up()
    finally:
        os.kill(pid, signal.SIGCONT)

    await eventually(world.contour_caught_up, within=30, what="Contour catching up", every=0.05)
    caught_up = time.monotonic()
    await eventually(lambda: weights_are(0, 100), within=INTERVAL + 20, what="promotion",
                     every=0.05, detail=world.operator.tail)
    moved = time.monotonic() - caught_up
    # The full interval at 60 %, counted from the catch-up (not from the write, long past), and
    # not much more (a second of requeue granularity, two of scheduling on a busy machine).
    assert INTERVAL - 1.0 <= moved <= INTERVAL + 6.0, moved
    accepted = next(c for c in (await world.status())["conditions"]
                    if c["type"] == "RouteAccepted")
    assert accepted["status"] == "True", accepted
