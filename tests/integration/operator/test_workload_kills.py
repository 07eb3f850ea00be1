"""Workload mode under operator kills: a release whose operator process dies right after each of
its writes — every Deployment, Service and route write, one per process — is carried through
by the next process, stage by stage, to the primary running the new version; and at no moment
sampled meanwhile does the route send traffic to a Deployment that has no ready pod of its
current template.

The real parts of test_workload_release.py: the operator processes (`--workloads`, fail points
armed), the real controller-manager, scheduler and node agent running the Pods, Contour writing
the route status, Prometheus behind the gate."""

from __future__ import annotations

import asyncio
import time

import pytest
from harness.app import App
from harness.operators import Operators
from harness.release import V2, workload_app, workload_canary
from harness.waiting import eventually
from harness.workloads import Workloads

from canary.controller.failpoints import EXIT_CODE
from canary.kube.resources import CANARY, DEPLOYMENT, HTTPROUTE, JsonObj
from canary.kube.workloads import template_hash

pytestmark = pytest.mark.integration

ONE_WRITE = {"CANARY_FAILPOINTS": "after-workload-write:1,after-route-write:1"}


def _serving(name: str, deployment: JsonObj) -> bool:
    """The canary (`app`) must have finished rolling out its current template, with a ready
    pod; the primary must have a ready pod (while a promotion rolls it to the new template, its
    old pods serve until new ones are ready, as a Deployment's rolling update guarantees)."""
    spec, status = deployment["spec"], deployment.get("status") or {}
    ready = status.get("readyReplicas", 0) >= 1
    if name == "app-primary":
        return bool(ready)
    return bool(
        ready
        and status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == spec.get("replicas", 1)
    )


async def test_a_release_resumes_after_a_kill_at_every_write(
    app: App, operator: Operators, workloads: Workloads
) -> None:
    ns, kube = app.namespace, app.kube
    await workload_app(app)
    canary = workload_canary(ns)
    canary["spec"]["steps"] = {"weights": [30, 60], "interval": "2s"}
    await kube.create(CANARY, canary, ns)

    async def status() -> JsonObj:
        return (await kube.get(CANARY, "app", ns)).get("status") or {}

    async def settled(revision: str) -> JsonObj | None:
        s = await status()
        if s.get("phase") == "Succeeded" and (s.get("workload") or {}).get(
            "primaryRevision"
        ) == revision:
            app_deployment = await kube.get(DEPLOYMENT, "app", ns)
            return s if app_deployment["spec"]["replicas"] == 0 else None
        return None

    first = operator.start("--workloads")
    v1 = template_hash((await kube.get(DEPLOYMENT, "app", ns))["spec"]["template"])
    await eventually(lambda: settled(v1), within=120, what="v1 made the primary",
                     detail=operator.tail)
    first.stop()

    violations: list[str] = []
    samples = 0

    async def watch() -> None:
        nonlocal samples
        while True:
            refs = (await kube.get(HTTPROUTE, "app-route", ns))["spec"]["rules"][0]["backendRefs"]
            weights = {ref["name"]: int(ref.get("weight", 1)) for ref in refs}
            for name in ("app-primary", "app"):
                service = "app-primary" if name == "app-primary" else "app-canary"
                if weights.get(service, 0) > 0:
                    deployment = await kube.get(DEPLOYMENT, name, ns)
                    if not _serving(name, deployment):
                        violations.append(
                            f"{time.strftime('%X')}: {weights} while {name} cannot serve: "
                            f"{deployment.get('status')}"
                        )
            samples += 1
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    try:
        await kube.patch(DEPLOYMENT, "app", [{
            "op": "replace", "path": "/spec/template/spec/containers/0/image", "value": V2,
        }], namespace=ns, patch_type="json")
        v2 = template_hash((await kube.get(DEPLOYMENT, "app", ns))["spec"]["template"])
        kills = 0
        done: JsonObj | None = None
        deadline = time.monotonic() + 300
        while done is None and time.monotonic() < deadline:
            child = operator.start("--workloads", env=ONE_WRITE)
            while child.alive() and done is None and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                done = await settled(v2)
            if not child.alive():
                assert child.process.returncode == EXIT_CODE, operator.tail()
                kills += 1
            else:
                child.stop()
            done = done or await settled(v2)
    finally:
        watcher.cancel()
    assert done is not None, f"not promoted after {kills} kills:\n{operator.tail()}"
    # At least: the canary scaled up, two steps, the template to the primary, 100 % back to
    # it, the canary scaled down: each write ended its process.
    assert kills >= 6, kills
    primary = await kube.get(DEPLOYMENT, "app-primary", ns)
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == V2
    assert samples > 20
    assert violations == [], "\n".join(violations[:5])
