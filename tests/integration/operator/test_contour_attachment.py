"""The operator on the real Contour (static mode): every route status here is written by
Contour itself, not by a test.

A route in a namespace the Gateway's listener does not admit holds the rollout with Contour's
own reason, `NotAllowedByListeners`, and our fix (the `kubectl label namespace`); a missing
canary Service holds it with `BackendNotFound`; each un-holds once fixed. The rollout then runs
to the end with the GatewayClass left as Contour leaves it (never Accepted: only Contour's
provisioner would write it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.app import condition
from harness.gateway import gateway, listener
from harness.manifests import canary_manifest, gateway_class_manifest, service_manifest
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import (
    CANARY,
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    SERVICE,
    JsonObj,
)
from canary.sandbox.contour import CONTROLLER_NAME, Contour, GatewayRef, free_listener_port
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

ADMIT = "canary-operator.io/contour-operator-test"


@dataclass(frozen=True)
class World:
    kube: Kube
    app: str  # the route's and the Canary's namespace
    gateway_ns: str
    class_name: str
    admit_value: str
    operator: Operators

    async def status(self) -> JsonObj:
        return (await self.kube.get(CANARY, "api", self.app)).get("status") or {}

    async def weights(self) -> tuple[int, int]:
        refs = (await self.kube.get(HTTPROUTE, "api-route", self.app))["spec"]["rules"][0][
            "backendRefs"
        ]
        return int(refs[0]["weight"]), int(refs[1]["weight"])

    async def held_by(self, reason: str) -> JsonObj:
        """Wait until RouteAccepted=False with `reason`; returns that condition."""

        async def check() -> JsonObj | None:
            found = condition(await self.status(), "RouteAccepted")
            held = found is not None and (found["status"], found["reason"]) == ("False", reason)
            return found if held else None

        return await eventually(check, within=60, what=f"RouteAccepted=False/{reason}",
                                detail=self.operator.tail)

    async def until_phase(self, phase: str) -> JsonObj:
        async def check() -> JsonObj | None:
            status = await self.status()
            return status if status.get("phase") == phase else None

        return await eventually(check, within=90, what=phase, detail=self.operator.tail)


def _route(app: str, gateway_ns: str) -> JsonObj:
    return {
        "apiVersion": HTTPROUTE.api_version,
        "kind": "HTTPRoute",
        "metadata": {"name": "api-route", "namespace": app},
        "spec": {
            "parentRefs": [{"name": "gw", "namespace": gateway_ns}],
            "rules": [{"backendRefs": [
                {"name": "api-svc-v1", "port": 8080, "weight": 100},
                {"name": "api-svc-v2", "port": 8080, "weight": 0},
            ]}],
        },
    }


@pytest.fixture
async def world(
    kube: Kube,
    control_plane: ControlPlane | ExistingCluster,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> AsyncIterator[World]:
    test_id = uuid.uuid4().hex[:10]
    app, gateway_ns = f"contour-app-{test_id}", f"contour-gw-{test_id}"
    for name in (app, gateway_ns):
        await kube.create(NAMESPACE, {"metadata": {"name": name}})
    class_name = f"contour-{test_id}"
    await kube.create(GATEWAYCLASS, gateway_class_manifest(class_name, CONTROLLER_NAME))
    allowed = {"from": "Selector", "selector": {"matchLabels": {ADMIT: test_id}}}
    http = listener(port=free_listener_port(), allowed=allowed)
    gw = gateway(gateway_ns, "gw", class_name, [http])
    await kube.create(GATEWAY, gw, gateway_ns)
    await kube.create(SERVICE, service_manifest("api-svc-v1"), app)
    await kube.create(HTTPROUTE, _route(app, gateway_ns), app)
    operator = Operators(control_plane.kubeconfig, [app, gateway_ns], prometheus.url, tmp_path)
    try:
        async with Contour(
            control_plane.kubeconfig, GatewayRef(gateway_ns, "gw"), tmp_path / "contour"
        ):
            yield World(kube, app, gateway_ns, class_name, test_id, operator)
    finally:
        operator.stop()
        await kube.delete(GATEWAYCLASS, class_name)
        for name in (app, gateway_ns):
            await kube.delete(NAMESPACE, name)


async def test_contour_reasons_hold_the_rollout_until_fixed_then_it_runs_to_the_end(
    world: World,
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
    await kube.patch(NAMESPACE, world.app, {"metadata": {"labels": {ADMIT: world.admit_value}}})
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
