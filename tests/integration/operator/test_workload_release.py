"""Workload mode end to end on the sandbox's real parts: the operator process (`--workloads`),
the real controller-manager, scheduler and node agent running the Pods, the real Contour
programming the route, a real Prometheus behind the gate.

One `kubectl set image`-like change of the user's Deployment, and nothing else, per release:
the operator first makes the running version the primary (no traffic move), then rolls the new
template out as a canary and promotes it (the primary runs it, 100 % on the primary, the
Deployment at zero); then a faulty template (its gate fails) is rolled back: the primary still
runs the promoted one, 100 % on it, the Deployment at zero. Covers the controller side
(observation, revision, executor) wired to the core's release flow.
"""

from __future__ import annotations

import pytest
from harness.app import App
from harness.operators import Operators
from harness.release import V2, V3, workload_app, workload_canary
from harness.waiting import eventually
from harness.workloads import Workloads

from canary.api.workload import POD_LABEL
from canary.kube.resources import CANARY, DEPLOYMENT, HTTPROUTE, JsonObj
from canary.kube.workloads import template_hash

pytestmark = pytest.mark.integration

async def test_one_template_change_is_released_through_the_primary(
    app: App, operator: Operators, workloads: Workloads
) -> None:
    ns, kube = app.namespace, app.kube
    await workload_app(app)
    await kube.create(CANARY, workload_canary(ns), ns)
    operator.start("--workloads")

    async def status() -> JsonObj:
        return (await kube.get(CANARY, "app", ns)).get("status") or {}

    async def weights() -> tuple[int, int]:
        refs = (await kube.get(HTTPROUTE, "app-route", ns))["spec"]["rules"][0]["backendRefs"]
        return int(refs[0].get("weight", 1)), int(refs[1].get("weight", 1))

    async def replicas(name: str) -> int:
        return int((await kube.get(DEPLOYMENT, name, ns))["spec"]["replicas"])

    v1 = template_hash((await kube.get(DEPLOYMENT, "app", ns))["spec"]["template"])

    async def initialised() -> JsonObj | None:
        s = await status()
        workload = s.get("workload") or {}
        if s.get("phase") == "Succeeded" and workload.get("primaryRevision") == v1:
            return s if await replicas("app") == 0 else None
        return None

    await eventually(initialised, within=120, what="the running version made the primary",
                     detail=operator.tail)
    primary = await kube.get(DEPLOYMENT, "app-primary", ns)
    assert primary["spec"]["selector"] == {"matchLabels": {POD_LABEL: "app-primary"}}
    assert await weights() == (100, 0)

    # The release: the pod template changes, nothing else.
    await kube.patch(DEPLOYMENT, "app", [{
        "op": "replace", "path": "/spec/template/spec/containers/0/image", "value": V2,
    }], namespace=ns, patch_type="json")
    v2 = template_hash((await kube.get(DEPLOYMENT, "app", ns))["spec"]["template"])
    seen: list[int] = []

    async def promoted() -> JsonObj | None:
        canary_weight = (await weights())[1]
        if not seen or seen[-1] != canary_weight:
            seen.append(canary_weight)
        s = await status()
        workload = s.get("workload") or {}
        if s.get("phase") == "Succeeded" and workload.get("primaryRevision") == v2:
            return s if await replicas("app") == 0 else None
        return None

    done = await eventually(promoted, within=240, what="v2 promoted through the primary",
                            detail=operator.tail)
    assert done["revision"] == v2
    assert done["workload"]["images"] == [V2]
    assert 50 in seen, seen  # the canary step did carry traffic
    primary = await kube.get(DEPLOYMENT, "app-primary", ns)
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == V2
    assert await weights() == (100, 0)

    # A faulty release: its gate fails; rolled back, the primary keeps v2.
    app.set_success(50, service="app-canary")
    await kube.patch(DEPLOYMENT, "app", [{
        "op": "replace", "path": "/spec/template/spec/containers/0/image", "value": V3,
    }], namespace=ns, patch_type="json")
    v3 = template_hash((await kube.get(DEPLOYMENT, "app", ns))["spec"]["template"])

    async def rolled_back() -> JsonObj | None:
        s = await status()
        if s.get("phase") == "RolledBack" and s.get("revision") == v3:
            return s if await replicas("app") == 0 else None
        return None

    await eventually(rolled_back, within=240, what="v3 rolled back", detail=operator.tail)
    primary = await kube.get(DEPLOYMENT, "app-primary", ns)
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == V2
    assert primary["metadata"]["annotations"]["rollouts.canary-operator.io/revision"] == v2
    assert await weights() == (100, 0)
    assert operator.problems() == []
