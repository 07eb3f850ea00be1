"""Workload mode's HPA copy on the real API server: made by `ensure_workload`, observed from
real informer caches, copied again when the user's HPA changes or the copy is deleted, and in
line after the API server's defaulting (no write on every pass). The operator process is not
started; `decide`'s part is tested in tests/unit/core/test_workload_decisions.py."""

from __future__ import annotations

import pytest
from harness.release import workload_canary
from harness.waiting import eventually
from harness.workloads import demo_deployment_manifest, informed

from canary.api.spec import CanarySpec
from canary.controller.caches import Caches
from canary.controller.workloads import ensure_workload, observe_workload
from canary.kube.client import Kube
from canary.kube.resources import CANARY, DEPLOYMENT, HPA, SERVICE, JsonObj

pytestmark = pytest.mark.integration


def canary_manifest(namespace: str) -> JsonObj:
    manifest = workload_canary(namespace)
    manifest["spec"]["workload"]["autoscalerRef"] = {"name": "app"}
    return manifest


def user_hpa() -> JsonObj:
    return {
        "apiVersion": HPA.api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "app"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
            "minReplicas": 2,
            "maxReplicas": 5,
        },
    }


async def test_the_hpa_copy_follows_the_users_hpa_through_an_edit_and_a_deletion(
    kube: Kube, namespace: str
) -> None:
    canary = await kube.create(CANARY, canary_manifest(namespace), namespace)
    workload = CanarySpec.model_validate(canary["spec"]).workload
    assert workload is not None
    await kube.create(DEPLOYMENT, demo_deployment_manifest("app", replicas=2), namespace)
    await kube.create(HPA, user_hpa(), namespace)

    async with informed(kube, namespace, (DEPLOYMENT, SERVICE, HPA)) as caches:

        def in_line(caches: Caches) -> bool:
            return observe_workload(caches, namespace, workload, canary).autoscaler_in_line

        async def seen(expected: bool) -> bool:
            return in_line(caches) is expected

        assert not in_line(caches)  # no copy yet
        written = await ensure_workload(kube, caches, canary, workload, replicas=2)
        assert "HorizontalPodAutoscaler/app-primary" in written
        await eventually(lambda: seen(True), within=30, what="the copy in the caches")
        copied = await kube.get(HPA, "app-primary", namespace)
        assert copied["spec"]["scaleTargetRef"]["name"] == "app-primary"
        assert copied["spec"]["maxReplicas"] == 5

        # kubectl edit hpa app: more replicas, and a behavior the API server completes with
        # its defaults (the copy must compare equal after that, or every pass would write it)
        edit = {"spec": {"maxReplicas": 9,
                         "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}
        await kube.patch(HPA, "app", edit, namespace=namespace, patch_type="merge")
        await eventually(lambda: seen(False), within=30, what="the edit seen as drift")
        written = await ensure_workload(kube, caches, canary, workload, replicas=2)
        assert written == ["HorizontalPodAutoscaler/app-primary (its spec copied again)"]
        await eventually(lambda: seen(True), within=30, what="the copy in line again")
        copied = await kube.get(HPA, "app-primary", namespace)
        assert copied["spec"]["maxReplicas"] == 9
        assert copied["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
        assert copied["spec"]["scaleTargetRef"]["name"] == "app-primary"
        assert await ensure_workload(kube, caches, canary, workload, replicas=2) == []

        await kube.delete(HPA, "app-primary", namespace)
        await eventually(lambda: seen(False), within=30, what="the deleted copy missed")
        written = await ensure_workload(kube, caches, canary, workload, replicas=2)
        assert written == ["HorizontalPodAutoscaler/app-primary"]
        await eventually(lambda: seen(True), within=30, what="the copy made again")
