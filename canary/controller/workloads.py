"""Workload mode in the loop: observe a Canary's Deployments and Services from the caches, and
carry out the workload actions the core decided.

`deployment_state` reads one Deployment as the core needs it; `observe_workload` builds the
`WorkloadObservation` `decide()` gets; `workload_action` writes one `EnsureWorkload`,
`PromoteTemplate` or `ScaleWorkload` (the executor calls it, in the decision's order). Writes
go through `canary.kube` with the operator's field manager and are written through the caches.
Nothing here decides anything.
"""

from __future__ import annotations

from typing import Any

import structlog

from canary.api.spec import CanarySpec
from canary.api.workload import WorkloadRef
from canary.controller.caches import Caches
from canary.core.decision import EnsureWorkload, PromoteTemplate, ScaleWorkload
from canary.core.observations import DeploymentState, WorkloadObservation
from canary.kube.client import Kube
from canary.kube.errors import Conflict
from canary.kube.resources import DEPLOYMENT, HPA, SERVICE, JsonObj, Resource
from canary.kube.workloads import (
    REVISION_ANNOTATION,
    adopt_patch,
    autoscaler_drift_patch,
    autoscaler_in_line,
    autoscaler_problem,
    foreign_problem,
    owned_by,
    primary_autoscaler,
    primary_deployment,
    promotion_patch,
    scale_patch,
    selector_problem,
    service_drift_patch,
    services,
    services_ready,
    template_hash,
)

log = structlog.get_logger("canary.workloads")


class WorkloadWriteError(Exception):
    """A workload action cannot be carried out as the world stands (e.g. the user's Deployment
    is gone); reported like a failed write, and retried."""


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def deployment_state(
    obj: JsonObj | None, *, primary: bool = False, problem: str = ""
) -> DeploymentState:
    """A Deployment as workload mode sees it.

    `revision`: the template hash of its pod template; for the primary (`primary=True`) the
    revision annotation the operator wrote with the template it copied (the primary's own
    template differs by its labels). `ready`: ready replicas of the current template (0 until
    its controller observed the current generation). `rolled_out`: the controller observed the
    current generation, every replica runs the current template and is available, and no pod
    of an older template is left.
    """
    if obj is None:
        return DeploymentState(exists=False, problem=problem)
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    template = spec.get("template") or {}
    if primary:
        revision = str((meta.get("annotations") or {}).get(REVISION_ANNOTATION, ""))
    else:
        revision = template_hash(template)
    containers = (template.get("spec") or {}).get("containers") or []
    images = tuple(str(c.get("image", "")) for c in containers)
    replicas = _int(spec.get("replicas", 1))
    observed = _int(status.get("observedGeneration")) >= _int(meta.get("generation"))
    updated = _int(status.get("updatedReplicas"))
    ready = min(updated, _int(status.get("readyReplicas"))) if observed else 0
    rolled_out = (
        observed
        and updated == replicas
        and _int(status.get("availableReplicas")) >= replicas
        and _int(status.get("replicas")) == replicas
    )
    return DeploymentState(
        exists=True,
        revision=revision,
        images=images,
        replicas=replicas,
        ready=ready,
        rolled_out=rolled_out,
        problem=problem,
    )


def source_problem(caches: Caches, source: JsonObj, workload: WorkloadRef, namespace: str) -> str:
    """Why the operator cannot manage the user's Deployment ("" when it can): a selector the
    canary Service cannot use or that overlaps another Deployment, or an HPA it cannot copy."""
    others = [
        d
        for d in caches.items(DEPLOYMENT, namespace)
        if (d.get("metadata") or {}).get("name") != workload.primary
    ]
    problems = [selector_problem(source, others)]
    if workload.autoscaler_ref is not None:
        hpa = caches.get(HPA, namespace, workload.autoscaler_ref.name)
        problems.append(autoscaler_problem(hpa, workload))
    return "; ".join(p for p in problems if p)


WORKLOADS_OFF = (
    "workload mode is not enabled in this operator: start it with --workloads"
    " (CANARY_WORKLOADS=true; chart value workloads.enabled=true)"
)


def observe_workload(
    caches: Caches, namespace: str, workload: WorkloadRef, canary: JsonObj | None = None
) -> WorkloadObservation:
    """The user's Deployment, the primary and the two Services, from the caches only.

    With `canary` (the Canary object), a primary Deployment or Service at the operator's names
    that is not the operator's (`foreign_problem`) is the primary's `problem`.
    Without Deployment caches (the operator runs without `--workloads`) nothing can be seen:
    the source is reported missing, with `WORKLOADS_OFF` as its problem.
    """
    if not caches.by_kind.get(DEPLOYMENT.plural):
        return WorkloadObservation(
            source=DeploymentState(exists=False, problem=WORKLOADS_OFF),
            primary=DeploymentState(exists=False),
        )
    source = caches.get(DEPLOYMENT, namespace, workload.name)
    primary = caches.get(DEPLOYMENT, namespace, workload.primary)
    problem = source_problem(caches, source, workload, namespace) if source is not None else ""
    svc_primary = caches.get(SERVICE, namespace, workload.primary)
    svc_canary = caches.get(SERVICE, namespace, workload.canary)
    foreign = ""
    if canary is not None:
        found = (foreign_problem(o, canary) for o in (primary, svc_primary, svc_canary))
        foreign = "; ".join(p for p in found if p)
    hpa = copied = None
    if workload.autoscaler_ref is not None:
        hpa = caches.get(HPA, namespace, workload.autoscaler_ref.name)
        copied = caches.get(HPA, namespace, workload.primary)
    return WorkloadObservation(
        source=deployment_state(source, problem=problem),
        primary=deployment_state(primary, primary=True, problem=foreign),
        services=services_ready(svc_primary, svc_canary, source, workload),
        autoscaler_in_line=autoscaler_in_line(hpa, copied, canary, workload),
    )


async def workload_action(
    kube: Kube,
    caches: Caches,
    obj: JsonObj,
    spec: CanarySpec,
    action: EnsureWorkload | PromoteTemplate | ScaleWorkload,
) -> None:
    """Carry out one workload action for the Canary `obj` (a no-op outside workload mode).

    Raises `canary.kube.errors.KubeError` (a `Conflict` when the object changed under us) or
    `WorkloadWriteError`."""
    workload = spec.workload
    if workload is None:
        return
    namespace = obj["metadata"]["namespace"]
    match action:
        case EnsureWorkload(replicas=replicas):
            await ensure_workload(kube, caches, obj, workload, replicas=replicas)
        case PromoteTemplate(revision=revision):
            await promote_template(kube, caches, obj, workload, revision=revision)
        case ScaleWorkload(replicas=replicas, primary=True):
            current = caches.get(DEPLOYMENT, namespace, workload.primary)
            if current is not None and (
                problem := foreign_problem({"kind": DEPLOYMENT.kind, **current}, obj)
            ):
                raise WorkloadWriteError(problem)
            await scale(kube, caches, namespace, workload.primary, replicas)
        case ScaleWorkload(replicas=replicas):
            await scale(kube, caches, namespace, workload.name, replicas)


async def ensure_workload(
    kube: Kube, caches: Caches, canary: JsonObj, workload: WorkloadRef, *, replicas: int
) -> list[str]:
    """Create what the operator owns and is missing: the primary Deployment (the user's current
    template, `replicas`), the two Services, and the primary's HPA when `autoscalerRef` is set.
    Existing objects are left as they are, except an owned Service whose selector or ports no
    longer match (the Deployment was recreated with another selector, spec.workload's ports
    changed), and the HPA copy when the user's HPA changed: they are patched back. Returns what
    was written (for tests and logs)."""
    namespace = canary["metadata"]["namespace"]
    source = caches.get(DEPLOYMENT, namespace, workload.name) or await kube.get_or_none(
        DEPLOYMENT, workload.name, namespace
    )
    if source is None:
        raise WorkloadWriteError(f"Deployment {workload.name} does not exist in {namespace}")
    wanted: list[tuple[Resource, JsonObj]] = [
        (DEPLOYMENT, primary_deployment(source, canary, workload, replicas=replicas)),
        *((SERVICE, service) for service in services(source, canary, workload)),
    ]
    if workload.autoscaler_ref is not None:
        name = workload.autoscaler_ref.name
        hpa = caches.get(HPA, namespace, name) or await kube.get_or_none(HPA, name, namespace)
        if problem := autoscaler_problem(hpa, workload):
            raise WorkloadWriteError(problem)
        assert hpa is not None
        wanted.append((HPA, primary_autoscaler(hpa, canary, workload)))
    created = []
    for resource, manifest in wanted:
        name = manifest["metadata"]["name"]
        existing = caches.get(resource, namespace, name)
        if existing is None:
            try:
                written = await kube.create(resource, manifest, namespace=namespace)
            except Conflict:  # already there (the cache lags): the next pass looks again
                continue
            caches.upsert(resource, written)
            created.append(f"{resource.kind}/{name}")
            continue
        existing = {"kind": resource.kind, **existing}
        if problem := foreign_problem(existing, canary):
            raise WorkloadWriteError(problem)
        if not owned_by(existing, canary):  # made by the operator, released on a deletion
            existing = await kube.patch(
                resource, name, adopt_patch(existing, canary), namespace=namespace,
                patch_type="json",
            )
            caches.upsert(resource, existing)
            created.append(f"{resource.kind}/{name} (adopted)")
        if resource is SERVICE and (drift := service_drift_patch(existing, manifest)):
            written = await kube.patch(
                resource, name, drift, namespace=namespace, patch_type="json"
            )
            caches.upsert(resource, written)
            created.append(f"{resource.kind}/{name} (selector/ports updated)")
        if resource is HPA and (drift := autoscaler_drift_patch(existing, manifest)):
            written = await kube.patch(
                resource, name, drift, namespace=namespace, patch_type="json"
            )
            caches.upsert(resource, written)
            created.append(f"{resource.kind}/{name} (its spec copied again)")
    if created:
        log.info("workload objects written", namespace=namespace, written=created)
    return created


async def promote_template(
    kube: Kube, caches: Caches, canary: JsonObj, workload: WorkloadRef, *, revision: str
) -> bool:
    """Copy the user's CURRENT pod template to the primary, only if its hash is `revision`
    (else nothing: the template changed since the decision, and the next pass decides again).
    Both Deployments are read live; the patch `test`s the primary's resourceVersion. A primary
    that is not the operator's is never written. True if the primary was written."""
    namespace = canary["metadata"]["namespace"]
    source = await kube.get_or_none(DEPLOYMENT, workload.name, namespace)
    if source is None:
        raise WorkloadWriteError(f"Deployment {workload.name} does not exist in {namespace}")
    current = template_hash((source.get("spec") or {}).get("template") or {})
    if current != revision:
        log.info("template changed since the decision; not promoted", decided=revision,
                 current=current, deployment=f"{namespace}/{workload.name}")
        return False
    primary = await kube.get_or_none(DEPLOYMENT, workload.primary, namespace)
    if primary is None:
        raise WorkloadWriteError(f"the primary Deployment {workload.primary} does not exist")
    if problem := foreign_problem({"kind": DEPLOYMENT.kind, **primary}, canary):
        raise WorkloadWriteError(problem)
    written = await kube.patch(
        DEPLOYMENT,
        workload.primary,
        promotion_patch(source, primary, workload),
        namespace=namespace,
        patch_type="json",
    )
    caches.upsert(DEPLOYMENT, written)
    return True


async def scale(kube: Kube, caches: Caches, namespace: str, name: str, replicas: int) -> None:
    """Set a Deployment's replicas (a merge patch of spec.replicas)."""
    written = await kube.patch(
        DEPLOYMENT, name, scale_patch(replicas), namespace=namespace, patch_type="merge"
    )
    caches.upsert(DEPLOYMENT, written)
