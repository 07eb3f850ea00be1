"""The operator on the real Contour (static mode): every route status here is written by
Contour itself, not by a test.

A route in a namespace the Gateway's listener does not admit holds the rollout with Contour's
own reason, `NotAllowedByListeners`, and our fix (the `kubectl label namespace`); a missing
canary Service holds it with `BackendNotFound`; each un-holds once fixed. The rollout then runs
to the end with the GatewayClass left as Contour leaves it (never Accepted: only Contour's
provisioner would write it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.app import condition
from harness.contourworld import ContourWorld, open_contour_world, route_manifest
from harness.manifests import canary_manifest, service_manifest

from canary.kube.client import Kube
from canary.kube.resources import (
    CANARY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    SERVICE,
)
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

ADMIT = "canary-operator.io/contour-operator-test"


@pytest.fixture
async def world(
    kube: Kube,
    control_plane: ControlPlane | ExistingCluster,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> AsyncIterator[ContourWorld]:
    """A Gateway admitting only the namespaces labelled ADMIT (not yet the app's), the route
    and only its stable Service."""
    async with open_contour_world(
        kube, control_plane, prometheus, tmp_path, admit_label=ADMIT
    ) as w:
        await kube.create(SERVICE, service_manifest("api-svc-v1"), w.app)
        await kube.create(HTTPROUTE, route_manifest(w.app, w.gateway_ns), w.app)
        yield w


async def test_contour_reasons_hold_the_rollout_until_fixed_then_it_runs_to_the_end(
    world: ContourWorld,
) -> None:
    kube = world.kube
    body = canary_manifest(world.app, weights=[50], interval="2s", analysis={})
    del body["spec"]["analysis"]  # no gates: steps advance on time
    await kube.create(CANARY, body, world.app)
    world.operator.start(resync=5)

    # 1. The app's namespace is not admitted by the listener: Contour's reason, our fix.
    held = await world.held_by("NotAllowedByListeners")
    assert f"kubectl label namespace {world.app}" in held["message"], held["message"]
    assert (await world.status()).get("phase") == "Pending"
    assert await world.weights() == (100, 0)

    # 2. Admitted, but the canary Service is missing: BackendNotFound, still no weight change.
    await kube.patch(NAMESPACE, world.app, {"metadata": {"labels": {ADMIT: world.test_id}}})
    await world.held_by("BackendNotFound")
    assert await world.weights() == (100, 0)

    # 3. The Service exists: the rollout runs to the end, the GatewayClass as Contour leaves it.
    await kube.create(SERVICE, service_manifest("api-svc-v2"), world.app)
    done = await world.until_phase("Succeeded")
    route = condition(done, "RouteAccepted")
    assert route is not None and route["status"] == "True"
    assert await world.weights() == (0, 100)
    gateway_class = await kube.get(GATEWAYCLASS, world.class_name)
    accepted = [c for c in (gateway_class.get("status") or {}).get("conditions") or []
                if c["type"] == "Accepted"]
    assert all(c["status"] != "True" for c in accepted), gateway_class.get("status")
