"""The finalizer: a Canary deleted mid-rollout first gives 100 % back to the stable backend.

A promoted or rolled-back Canary is released at once (its traffic is already where it should
stay). A route that is gone, or a write we are not allowed to make, never blocks deletion
forever: it is reported as an event and the finalizer is removed.

Workload mode (`release_workload`): the stable backend is the primary, so 100 % goes back to
the primary as above, and the primary keeps serving. The route still points at the operator's
two Services after the deletion: they and the primary Deployment (and its HPA) are released
from the Canary's ownership first, so the garbage collector does not delete what serves the
traffic; changing the route back is the user's move. Then, by `spec.workload.onDelete`:
`Restore` scales the user's Deployment back to the primary's replicas (as it was before the
operator took it over); `Keep` leaves it as it is (at zero outside a rollout).
"""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus, Phase
from canary.api.workload import OnDelete, WorkloadRef
from canary.controller.caches import Caches
from canary.controller.effects import Effects
from canary.controller.result import Done, Result, TemporaryError
from canary.controller.routes import owner_of_weights
from canary.controller.workloads import scale
from canary.kube.client import Kube
from canary.kube.errors import Conflict, Forbidden, Invalid, KubeError, NotFound, Unavailable
from canary.kube.resources import CANARY, DEPLOYMENT, HPA, SERVICE, JsonObj
from canary.kube.workloads import owned_by, without_owner_patch
from canary.routers.errors import RouteNotFoundError, RouterError
from canary.routers.target import target_of

FINALIZER = "rollouts.canary-operator.io/restore-stable"
log = structlog.get_logger("canary.finalizer")


async def ensure(kube: Kube, caches: Caches, obj: JsonObj) -> JsonObj:
    """Add our finalizer if missing (guarded by resourceVersion); returns the current object."""
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if FINALIZER in finalizers:
        return obj
    try:
        written = await _set_finalizers(kube, obj, [*finalizers, FINALIZER])
    except Conflict as exc:
        raise TemporaryError("Canary changed while adding the finalizer", delay=0) from exc
    caches.upsert(CANARY, written)
    return written


async def finalize(effects: Effects, obj: JsonObj) -> Result:
    """Restore stable if a rollout is under way, then let the object go."""
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if FINALIZER not in finalizers:
        return Done()
    try:
        spec = CanarySpec.model_validate(obj.get("spec") or {})
        status = CanaryStatus.model_validate(obj.get("status") or {})
        target_of(obj["metadata"]["namespace"], spec)  # one backend twice: nothing was written
    except (ValidationError, ValueError):
        spec, status = None, CanaryStatus()
    # RollingBack records 0 % before the route shows it: restore whenever a rollout is unfinished.
    rolling_back = status.phase is Phase.ROLLING_BACK
    unfinished = status.phase.active and (status.canary_weight > 0 or rolling_back)
    # A Canary that does not own the route's weights never wrote them: leave them to the owner.
    if spec is not None and unfinished and owner_of_weights(effects.caches, obj) is None:
        await _restore_stable(effects, obj, spec)
    # Without workload mode (no Deployment caches) the operator never created anything.
    workload_mode = bool(effects.caches.by_kind.get(DEPLOYMENT.plural))
    if spec is not None and spec.workload is not None and workload_mode:
        await release_workload(effects, obj, spec.workload)
    try:
        await _set_finalizers(effects.kube, obj, [f for f in finalizers if f != FINALIZER])
    except Conflict as exc:
        raise TemporaryError("Canary changed while removing the finalizer", delay=0) from exc
    except NotFound:
        pass
    return Done()


async def _restore_stable(effects: Effects, obj: JsonObj, spec: CanarySpec) -> None:
    target = target_of(obj["metadata"]["namespace"], spec)
    try:
        await effects.router(target.route.kind).set_weights(
            target, canary_weight=0, route=effects.cached_route(target)
        )
    except (RouteNotFoundError, NotFound):
        await effects.events.emit(
            obj,
            type="Warning",
            reason="WeightsNotRestored",
            message=f"{target.route} is gone; nothing to restore",
        )
        return
    except (Forbidden, Invalid, RouterError) as exc:
        await effects.events.emit(
            obj,
            type="Warning",
            reason="WeightsNotRestored",
            message=f"Could not restore 100% stable on {target.route}: {exc}."
            " The Canary is deleted anyway; check the route's weights.",
        )
        return
    except KubeError as exc:
        raise TemporaryError(f"restoring stable weights: {exc}") from exc
    await effects.events.emit(
        obj,
        type="Normal",
        reason="WeightsRestored",
        message=f"Canary deleted mid-rollout: 100% restored to {spec.stable}",
    )
    log.info("stable restored before deletion", canary=obj["metadata"]["name"])


async def release_workload(effects: Effects, obj: JsonObj, workload: WorkloadRef) -> None:
    """Workload mode, on deletion: keep the primary and the Services (the route still points
    at them) by removing the Canary's ownerReference from every object it owns, then, with
    `onDelete: Restore`, scale the user's Deployment back to the primary's replicas; `Keep`
    leaves the Deployment as it is. An object that is gone is skipped; a refused write is an
    event and never blocks the deletion; a transient failure retries."""
    namespace = obj["metadata"]["namespace"]
    owned = [(DEPLOYMENT, workload.primary), (SERVICE, workload.primary),
             (SERVICE, workload.canary), (HPA, workload.primary)]
    try:
        for resource, name in owned:
            current = await effects.kube.get_or_none(resource, name, namespace)
            if current is None or not owned_by(current, obj):
                continue
            written = await effects.kube.patch(
                resource, name, without_owner_patch(current, obj), namespace=namespace,
                patch_type="json",
            )
            effects.caches.upsert(resource, written)
        if workload.on_delete is OnDelete.RESTORE:
            primary = await effects.kube.get_or_none(DEPLOYMENT, workload.primary, namespace)
            replicas = int((primary or {}).get("spec", {}).get("replicas") or 0)
            if primary is not None and replicas > 0:
                await scale(effects.kube, effects.caches, namespace, workload.name, replicas)
                await effects.events.emit(
                    obj, type="Normal", reason="WorkloadRestored",
                    message=f"Canary deleted: Deployment {workload.name} scaled back to"
                    f" {replicas}; {workload.primary} keeps serving until the route changes",
                )
    except (Conflict, Unavailable) as exc:
        raise TemporaryError(f"releasing the workload: {exc}") from exc
    except NotFound:
        return
    except KubeError as exc:
        await effects.events.emit(
            obj, type="Warning", reason="WorkloadNotReleased",
            message=f"Could not release the workload: {exc}. The Canary is deleted anyway;"
            f" check the ownerReferences of {workload.primary} and the replicas of"
            f" {workload.name}.",
        )


async def _set_finalizers(kube: Kube, obj: JsonObj, finalizers: list[str]) -> JsonObj:
    meta = obj["metadata"]
    body = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
    return await kube.patch(
        CANARY, meta["name"], body, namespace=meta["namespace"], patch_type="merge"
    )
