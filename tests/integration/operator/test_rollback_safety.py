"""Issue 10, bug 1: no failed write may ever give traffic back to a canary that failed a check.

The reproduction makes the API server refuse the status write that records the failed check (a
real ValidatingAdmissionPolicy on `canaries/status`), which is what a crash between the two
writes of a rollback amounts to. Before the fix the operator wrote the route first (canary 0 %),
failed to record why, took its own 0 % for drift and put the canary back to 20 %.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness.app import App, canary_manifest, success_query
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.errors import Invalid, NotFound
from canary.kube.resources import CANARY, Resource

pytestmark = pytest.mark.integration

POLICY = Resource(
    "admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
    "ValidatingAdmissionPolicy", namespaced=False,
)
BINDING = Resource(
    "admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding", namespaced=False,
)
REFUSAL = "fault injected: status writes recording a failed check are refused"
STEPS = {"weights": [20, 40, 60, 80], "interval": "2s"}
ANALYSIS = {"failureThreshold": 1}


class RefusedStatusWrites:
    """While active, the API server refuses every Canary status write in one namespace that
    records a failed check (`failedChecks > 0`)."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = f"refuse-failed-checks-{uuid.uuid4().hex[:8]}"

    async def install(self) -> None:
        await self.kube.create(POLICY, {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": self.name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [CANARY.group], "apiVersions": ["*"],
                    "operations": ["UPDATE"], "resources": ["canaries/status"],
                }]},
                "validations": [{
                    "expression": "!has(object.status) || !has(object.status.failedChecks) "
                    "|| object.status.failedChecks == 0",
                    "message": REFUSAL,
                }],
            },
        })
        await self.kube.create(BINDING, {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": self.name},
            "spec": {
                "policyName": self.name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": self.namespace}}},
            },
        })
        await self._wait_until_enforced()

    async def _wait_until_enforced(self) -> None:
        """Policies take effect asynchronously: probe with a Canary of our own."""
        probe = canary_manifest(self.namespace)
        probe["metadata"]["name"] = "policy-probe"
        await self.kube.create(CANARY, probe, self.namespace)

        async def refused() -> bool:
            patch = [{"op": "add", "path": "/status", "value": {"failedChecks": 1}}]
            try:
                await self.kube.patch(CANARY, "policy-probe", patch, namespace=self.namespace,
                                      patch_type="json", subresource="status")
            except Invalid as exc:
                return REFUSAL in str(exc)
            return False

        await eventually(refused, within=30, what="the admission policy to be enforced")
        await self.kube.delete(CANARY, "policy-probe", self.namespace)

    async def remove(self) -> None:
        for resource in (BINDING, POLICY):
            with contextlib.suppress(NotFound):
                await self.kube.delete(resource, self.name)


@pytest.fixture
async def refused(app: App) -> AsyncIterator[RefusedStatusWrites]:
    policy = RefusedStatusWrites(app.kube, app.namespace)
    await policy.install()
    yield policy
    await policy.remove()


async def test_a_refused_rollback_status_write_never_gives_traffic_back_to_the_canary(
    app: App, operator: Operators, refused: RefusedStatusWrites
) -> None:
    await app.roll_out(operator, 100, steps=STEPS, analysis={**_gate(app), **ANALYSIS})
    await eventually(lambda: _canary_weight_is(app, 20), within=60, what="the first step")
    app.set_success(50)  # the canary now fails its gate: the next check decides a rollback
    seen = await _record_weights(app, seconds=12)
    log = "\n".join(child.log_path.read_text() for child in operator.started)
    assert REFUSAL in log, "the fault was never injected: no status write was refused"
    after_zero = seen[seen.index(0):] if 0 in seen else []
    assert all(w == 0 for w in after_zero), f"traffic went back to the failed canary: {seen}"
    assert max(seen) <= 20, f"traffic moved towards the failing canary: {seen}"

    await refused.remove()
    status = await eventually(lambda: _phase_is(app, "RolledBack"), within=60, what="RolledBack")
    assert status["failedChecks"] == 1
    assert await app.weights() == (100, 0)
    assert "failureThreshold 1" in status["message"]
    await app.wait_for_events("RollingBack", "RolledBack")


async def test_a_rollback_is_recorded_before_the_route_moves(
    app: App, operator: Operators
) -> None:
    """Whenever the route shows the canary at 0 %, the status already says why."""
    await app.roll_out(operator, 100, steps=STEPS, analysis={**_gate(app), **ANALYSIS})
    await eventually(lambda: _canary_weight_is(app, 20), within=60, what="the first step")
    app.set_success(50)

    async def route_at_zero() -> dict[str, Any] | None:
        route, canary = await asyncio.gather(app.route(), app.canary())
        weight = int(route["spec"]["rules"][0]["backendRefs"][1].get("weight", 1))
        return canary.get("status") if weight == 0 else None

    # The route is read first: a status read after it is at least as new as the route write.
    status = await eventually(route_at_zero, within=60, what="the rollback's route write")
    assert status["phase"] in ("RollingBack", "RolledBack")
    assert status["failedChecks"] == 1


def _gate(app: App) -> dict[str, Any]:
    return {"metrics": [{"name": "success-rate", "query": success_query(app.namespace),
                         "min": 99, "interval": "5s"}]}


async def _canary_weight_is(app: App, weight: int) -> bool:
    return (await app.weights())[1] == weight


async def _phase_is(app: App, phase: str) -> dict[str, Any] | None:
    status = await app.status()
    return status if status.get("phase") == phase else None


async def _record_weights(app: App, *, seconds: float) -> list[int]:
    """The canary weight as the API server shows it, every 50 ms, change points only."""
    seen: list[int] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        weight = (await app.weights())[1]
        if not seen or seen[-1] != weight:
            seen.append(weight)
        await asyncio.sleep(0.05)
    return seen
