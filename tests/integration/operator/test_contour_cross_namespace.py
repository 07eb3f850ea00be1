"""The operator on the real Contour with the canary Service in another namespace: without a
ReferenceGrant, Contour reports ResolvedRefs=False/RefNotPermitted and the rollout holds with
the grant to create and no weight change; once that very grant (pasted from the message) exists,
the rollout runs to the end and the cross-namespace weight moves."""

from __future__ import annotations

import pytest
import yaml
from harness.app import condition
from harness.contourworld import ContourWorld, route_manifest
from harness.manifests import canary_manifest, service_manifest
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import CANARY, HTTPROUTE, REFERENCEGRANT, SERVICE, JsonObj

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(kube: Kube, contour_world: ContourWorld) -> ContourWorld:
    """The route in the app namespace; its canary Service in the other one."""
    w = contour_world
    await kube.create(SERVICE, service_manifest("api-svc-v1"), w.app)
    await kube.create(SERVICE, service_manifest("api-svc-v2"), w.other)
    await kube.create(HTTPROUTE, route_manifest(w.app, w.gateway_ns, w.other), w.app)
    return w


def _pasted_grant(message: str) -> JsonObj:
    """The ReferenceGrant the hold's message tells a person to `kubectl apply`."""
    return dict(yaml.safe_load(message.split("<<EOF\n", 1)[1].split("\nEOF", 1)[0]))


async def test_a_cross_namespace_canary_holds_without_a_grant_and_runs_with_the_one_printed(
    world: ContourWorld,
) -> None:
    kube = world.kube
    body = canary_manifest(world.app, weights=[50], interval="2s", analysis={})
    del body["spec"]["analysis"]  # no gates: steps advance on time
    body["spec"]["canary"]["namespace"] = world.other
    await kube.create(CANARY, body, world.app)
    world.operator.start(resync=5)

    # 1. No ReferenceGrant: Contour refuses the ref; we hold with the grant to create.
    async def contour_refuses() -> JsonObj | None:
        found = await world.contour_condition("ResolvedRefs")
        refused = found is not None and (found["status"], found["reason"]) == (
            "False", "RefNotPermitted")
        return found if refused else None

    await eventually(contour_refuses, within=30, what="Contour's ResolvedRefs=False")
    held = await world.held_by("RefNotPermitted")
    assert f"no ReferenceGrant in namespace {world.other}" in held["message"], held["message"]
    assert "kubectl apply -f - <<EOF" in held["message"]
    assert (await world.status()).get("phase") == "Pending"
    assert await world.weights() == (100, 0)
    assert await world.events("RouteNotAccepted")

    # 2. Create exactly the grant the message prints: Contour resolves, the rollout runs.
    grant = _pasted_grant(held["message"])
    assert grant["metadata"]["namespace"] == world.other
    await kube.create(REFERENCEGRANT, grant, world.other)
    done = await world.until_phase("Succeeded")
    route = condition(done, "RouteAccepted")
    assert route is not None and route["status"] == "True", done
    assert await world.weights() == (0, 100)
    resolved = await world.contour_condition("ResolvedRefs")
    assert resolved is not None and resolved["status"] == "True", resolved
    # Contour in static mode never accepts the GatewayClass: a hint, told once as an Event.
    hints = [e.get("note", "") for e in await world.events("RouteHint")]
    assert len(hints) == 1 and "GatewayClass" in hints[0], hints
