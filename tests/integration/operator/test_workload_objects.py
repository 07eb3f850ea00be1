"""Workload mode's controller side on the real control plane, with the real controller-manager,
scheduler and the node agent running the Pods (`workloads`).

What this covers: the executor's workload actions (`EnsureWorkload`, `ScaleWorkload`,
`PromoteTemplate`) called directly with a real API client, the observation of the result from
real informer caches (`observe_workload`), and the finalizer's release of the workload on a
real deletion (with the real garbage collector). It does NOT cover the release flow that
decides these actions (the core's `decide`): the operator process is not started here.
"""

from __future__ import annotations

import asyncio

import pytest
from harness.waiting import eventually
from harness.workloads import (
    DEMO_PORT,
    RecordedEvents,
    Workloads,
    demo_deployment_manifest,
    informed,
)

from canary.api.spec import CanarySpec
from canary.api.workload import POD_LABEL
from canary.controller.effects import Effects
from canary.controller.executor import execute
from canary.controller.finalizer import FINALIZER, finalize
from canary.controller.workloads import observe_workload
from canary.core.decision import EnsureWorkload, PromoteTemplate, ScaleWorkload
from canary.core.observations import WorkloadObservation
from canary.kube.client import Kube
from canary.kube.resources import CANARY, DEPLOYMENT, ENDPOINTSLICE, POD, SERVICE, JsonObj
from canary.kube.workloads import REVISION_ANNOTATION, template_hash

pytestmark = pytest.mark.integration

ROLLOUT_SECONDS = 120


def canary_manifest(namespace: str) -> JsonObj:
    return {
        "apiVersion": CANARY.api_version,
        "kind": "Canary",
        "metadata": {"name": "app", "namespace": namespace, "finalizers": [FINALIZER]},
        "spec": {
            "routeRef": {"name": "app-route"},
            "workload": {"name": "app", "port": 80, "targetPort": DEMO_PORT},
            "steps": {"weights": [50], "interval": "1m"},
        },
    }


async def pod_names(kube: Kube, namespace: str, selector: str) -> set[str]:
    pods, _ = await kube.list(POD, namespace, label_selector=selector)
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


async def endpoints(kube: Kube, namespace: str, service: str) -> set[str]:
    """The Pods behind `service`'s ready endpoints, from its EndpointSlices."""
    slices, _ = await kube.list(
        ENDPOINTSLICE, namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    return {
        e["targetRef"]["name"]
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready") and e.get("targetRef")
    }


async def test_workload_actions_build_primary_and_services_that_select_disjoint_pods(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    canary = await kube.create(CANARY, canary_manifest(namespace), namespace)
    spec = CanarySpec.model_validate(canary["spec"])
    await kube.create(DEPLOYMENT, demo_deployment_manifest("app", replicas=2), namespace)
    events = RecordedEvents()
    async with informed(kube, namespace, (DEPLOYMENT, SERVICE)) as caches:
        effects = Effects(kube=kube, caches=caches, events=events)

        def seen() -> WorkloadObservation:
            return observe_workload(caches, namespace, spec.workload)  # type: ignore[arg-type]

        async def source_ready() -> bool:
            return seen().canary_ready

        await eventually(source_ready, within=ROLLOUT_SECONDS, what="the Deployment rolled out")
        v1 = seen().source.revision

        # EnsureWorkload: the primary and both Services, as the design defines them.
        await execute(effects, canary, spec, (EnsureWorkload(replicas=2),))
        primary = await kube.get(DEPLOYMENT, "app-primary", namespace)
        assert primary["spec"]["selector"] == {"matchLabels": {POD_LABEL: "app-primary"}}
        assert primary["spec"]["template"]["metadata"]["labels"] == {POD_LABEL: "app-primary"}
        assert primary["spec"]["replicas"] == 2
        assert primary["metadata"]["annotations"][REVISION_ANNOTATION] == v1
        svc_primary = await kube.get(SERVICE, "app-primary", namespace)
        svc_canary = await kube.get(SERVICE, "app-canary", namespace)
        assert svc_primary["spec"]["selector"] == {POD_LABEL: "app-primary"}
        assert svc_canary["spec"]["selector"] == {"app": "app"}
        for svc in (svc_primary, svc_canary):
            assert svc["spec"]["ports"][0]["port"] == 80
            assert svc["spec"]["ports"][0]["targetPort"] == DEMO_PORT
        for obj in (primary, svc_primary, svc_canary):
            (ref,) = obj["metadata"]["ownerReferences"]
            assert (ref["kind"], ref["name"], ref["uid"]) == ("Canary", "app",
                                                              canary["metadata"]["uid"])
            assert ref["controller"] is True and ref["blockOwnerDeletion"] is False
        await execute(effects, canary, spec, (EnsureWorkload(replicas=2),))  # idempotent

        async def primary_ready() -> bool:
            w = seen()
            return w.primary_ready and w.services and w.primary.revision == v1

        await eventually(primary_ready, within=ROLLOUT_SECONDS, what="the primary ready")

        # The primary Service selects only the primary's Pods, the canary Service only the
        # user's Deployment's Pods.
        async def selected_apart() -> tuple[set[str], set[str]] | None:
            primary_pods = await pod_names(kube, namespace, f"{POD_LABEL}=app-primary")
            user_pods = await pod_names(kube, namespace, "app=app")
            behind_primary = await endpoints(kube, namespace, "app-primary")
            behind_canary = await endpoints(kube, namespace, "app-canary")
            if (len(primary_pods), len(user_pods)) != (2, 2):
                return None
            if behind_primary != primary_pods or behind_canary != user_pods:
                return None
            return primary_pods, user_pods

        primary_pods, user_pods = await eventually(
            selected_apart, within=60, what="EndpointSlices of both Services"
        )
        assert not primary_pods & user_pods

        # ScaleWorkload(0): the canary Service has nothing behind it; the primary keeps its Pods.
        await execute(effects, canary, spec, (ScaleWorkload(replicas=0),))

        async def canary_gone() -> bool:
            return (
                await endpoints(kube, namespace, "app-canary") == set()
                and await endpoints(kube, namespace, "app-primary") == primary_pods
            )

        await eventually(canary_gone, within=60, what="the canary Service without endpoints")

        # A new template (`kubectl set image`), scaled up as a canary, then promoted.
        image = "/spec/template/spec/containers/0/image"
        await kube.patch(DEPLOYMENT, "app", [{"op": "replace", "path": image,
                                              "value": "canary-sandbox/demoapp:v2"}],
                         namespace=namespace, patch_type="json")
        await execute(effects, canary, spec, (ScaleWorkload(replicas=2),))

        async def canary_v2() -> str | None:
            w = seen()
            return w.source.revision if w.canary_ready and w.source.revision != v1 else None

        v2 = await eventually(canary_v2, within=ROLLOUT_SECONDS, what="the canary running v2")
        assert seen().source.images == ("canary-sandbox/demoapp:v2",)
        # A revision that is not the Deployment's current template is never copied.
        await execute(effects, canary, spec, (PromoteTemplate(revision=v1),))
        assert (await kube.get(DEPLOYMENT, "app-primary", namespace))["metadata"][
            "annotations"][REVISION_ANNOTATION] == v1
        await execute(effects, canary, spec, (PromoteTemplate(revision=v2),))

        async def primary_v2() -> bool:
            w = seen()
            return w.primary_ready and w.primary.revision == v2 and w.primary.images == (
                "canary-sandbox/demoapp:v2",)

        await eventually(primary_v2, within=ROLLOUT_SECONDS, what="the primary running v2")
        primary = await kube.get(DEPLOYMENT, "app-primary", namespace)
        assert primary["spec"]["template"]["metadata"]["labels"] == {POD_LABEL: "app-primary"}
        user = await kube.get(DEPLOYMENT, "app", namespace)
        assert template_hash(user["spec"]["template"]) == v2
        await execute(effects, canary, spec, (ScaleWorkload(replicas=0),))

        # Deleting the Canary (onDelete: Restore): the primary and the Services stay (the
        # garbage collector must not take them), and the Deployment is scaled back up.
        await kube.delete(CANARY, "app", namespace)
        deleting = await kube.get(CANARY, "app", namespace)
        assert deleting["metadata"].get("deletionTimestamp")
        await finalize(effects, deleting)
        assert await kube.get_or_none(CANARY, "app", namespace) is None
        await asyncio.sleep(5)  # time for the garbage collector to act, if it were to
        for resource, name in ((DEPLOYMENT, "app-primary"), (SERVICE, "app-primary"),
                               (SERVICE, "app-canary")):
            kept = await kube.get(resource, name, namespace)
            assert not kept["metadata"].get("ownerReferences"), name
        assert (await kube.get(DEPLOYMENT, "app", namespace))["spec"]["replicas"] == 2
        assert ("Normal", "WorkloadRestored") in [(t, r) for t, r, _ in events.said]
        assert not [e for e in events.said if e[0] == "Warning"]
