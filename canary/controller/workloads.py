"""Observe a workload-mode Canary's Deployments and Services from the caches.

`deployment_state` reads one Deployment as the core needs it; `observe_workload` builds the
`WorkloadObservation` `decide()` gets. Nothing here decides or writes anything.
"""

from __future__ import annotations

from typing import Any

from canary.api.workload import WorkloadRef
from canary.controller.caches import Caches
from canary.core.observations import DeploymentState, WorkloadObservation
from canary.kube.resources import DEPLOYMENT, HPA, SERVICE, JsonObj
from canary.kube.workloads import (
    REVISION_ANNOTATION,
    autoscaler_problem,
    selector_problem,
    services_ready,
    template_hash,
)


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


def observe_workload(caches: Caches, namespace: str, workload: WorkloadRef) -> WorkloadObservation:
    """The user's Deployment, the primary and the two Services, from the caches only.

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
    return WorkloadObservation(
        source=deployment_state(source, problem=problem),
        primary=deployment_state(primary, primary=True),
        services=services_ready(
            caches.get(SERVICE, namespace, workload.primary),
            caches.get(SERVICE, namespace, workload.canary),
            source,
            workload,
        ),
    )
