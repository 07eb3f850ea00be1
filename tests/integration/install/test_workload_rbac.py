"""Workload mode under the chart's RBAC: authenticated as the chart's ServiceAccount (a
TokenRequest token, exactly the chart's rules), the operator's workload writes succeed with
`workloads.enabled=true` and are refused without it.

What this covers: the executor's workload actions and the finalizer's release of a workload,
called directly as the ServiceAccount (informers included, so list and watch are exercised),
not the release flow that decides them.
"""

from __future__ import annotations

from typing import Any

import pytest
from harness.install import Installed
from harness.workloads import DEMO_PORT, RecordedEvents, demo_deployment_manifest, informed

from canary.api.spec import CanarySpec
from canary.controller.caches import Caches
from canary.controller.effects import Effects
from canary.controller.executor import execute
from canary.controller.finalizer import FINALIZER, finalize
from canary.controller.result import PermanentError
from canary.core.decision import EnsureWorkload, PromoteTemplate, ScaleWorkload
from canary.kube.client import Kube
from canary.kube.resources import CANARY, DEPLOYMENT, HPA, SERVICE, JsonObj
from canary.kube.workloads import template_hash

pytestmark = pytest.mark.integration


async def workload_world(admin: Kube, namespace: str, *, finalizer: bool = True) -> JsonObj:
    """As the admin (the user): a Deployment, its HPA, and a workload-mode Canary naming both
    (with the operator's finalizer, as it would have added it; without, nothing holds the
    namespace's deletion when no finalizer runs)."""
    await admin.create(DEPLOYMENT, demo_deployment_manifest("app", replicas=1), namespace)
    await admin.create(HPA, {
        "apiVersion": HPA.api_version, "kind": HPA.kind, "metadata": {"name": "app"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
                 "minReplicas": 1, "maxReplicas": 3}}, namespace)
    return await admin.create(CANARY, {
        "apiVersion": CANARY.api_version, "kind": "Canary",
        "metadata": {"name": "app", "finalizers": [FINALIZER] if finalizer else []},
        "spec": {"routeRef": {"name": "app-route"},
                 "workload": {"name": "app", "port": 80, "targetPort": DEMO_PORT,
                              "autoscalerRef": {"name": "app"}},
                 "steps": {"weights": [50], "interval": "1m"}}}, namespace)


async def test_workload_writes_are_allowed_with_workloads_enabled(
    install_rbac: Any, admin: Kube, namespace: str,
) -> None:
    installed: Installed = install_rbac({"workloads.enabled": True,
                                         "watch.namespaces": [namespace]})
    assert "--workloads" in installed.args
    canary = await workload_world(admin, namespace)
    spec = CanarySpec.model_validate(canary["spec"])
    events = RecordedEvents()
    async with (
        await Kube.connect(kubeconfig=installed.kubeconfig) as sa,
        informed(sa, namespace, (DEPLOYMENT, SERVICE, HPA)) as caches,
    ):
        effects = Effects(kube=sa, caches=caches, events=events)
        await execute(effects, canary, spec, (EnsureWorkload(replicas=1),))
        await admin.patch(DEPLOYMENT, "app", [{"op": "replace",
                                               "path": "/spec/template/spec/containers/0/image",
                                               "value": "canary-sandbox/demoapp:v2"}],
                          namespace=namespace, patch_type="json")
        user = await admin.get(DEPLOYMENT, "app", namespace)
        revision = template_hash(user["spec"]["template"])
        await execute(effects, canary, spec, (
            ScaleWorkload(replicas=0), PromoteTemplate(revision=revision),
            ScaleWorkload(replicas=2, primary=True),
        ))
        await admin.delete(CANARY, "app", namespace)
        await finalize(effects, await admin.get(CANARY, "app", namespace))
    assert events.said == [("Normal", "WorkloadRestored", events.said[0][2])], events.said
    primary = await admin.get(DEPLOYMENT, "app-primary", namespace)
    assert primary["spec"]["replicas"] == 2
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "canary-sandbox/demoapp:v2")
    assert (await admin.get(HPA, "app-primary", namespace))["spec"]["scaleTargetRef"][
        "name"] == "app-primary"
    for resource, name in ((DEPLOYMENT, "app-primary"), (SERVICE, "app-primary"),
                           (SERVICE, "app-canary"), (HPA, "app-primary")):
        assert not (await admin.get(resource, name, namespace))["metadata"].get(
            "ownerReferences"), name
    assert (await admin.get(DEPLOYMENT, "app", namespace))["spec"]["replicas"] == 2
    assert await admin.get_or_none(CANARY, "app", namespace) is None


async def test_workload_writes_are_refused_without_workloads_enabled(
    install_rbac: Any, admin: Kube, namespace: str,
) -> None:
    installed: Installed = install_rbac({"watch.namespaces": [namespace]})
    assert "--workloads" not in installed.args
    canary = await workload_world(admin, namespace, finalizer=False)
    spec = CanarySpec.model_validate(canary["spec"])
    events = RecordedEvents()
    async with await Kube.connect(kubeconfig=installed.kubeconfig) as sa:
        effects = Effects(kube=sa, caches=Caches(), events=events)
        with pytest.raises(PermanentError):
            await execute(effects, canary, spec, (EnsureWorkload(replicas=1),))
    assert [reason for _, reason, _ in events.said] == ["WorkloadWriteFailed"]
    assert await admin.get_or_none(DEPLOYMENT, "app-primary", namespace) is None
