"""The finalizer: a Canary deleted mid-rollout first gives 100 % back to the stable backend.

A promoted or rolled-back Canary is released at once (its traffic is already where it should
stay). A route that is gone, or a write we are not allowed to make, never blocks deletion
forever: it is reported as an event and the finalizer is removed.
"""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus, Phase
from canary.controller.caches import Caches
from canary.controller.effects import Effects
from canary.controller.result import Done, Result, TemporaryError
from canary.controller.routes import owner_of_weights
from canary.kube.client import Kube
from canary.kube.errors import Conflict, Forbidden, Invalid, KubeError, NotFound
from canary.kube.resources import CANARY, JsonObj
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


async def _set_finalizers(kube: Kube, obj: JsonObj, finalizers: list[str]) -> JsonObj:
    meta = obj["metadata"]
    body = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
    return await kube.patch(
        CANARY, meta["name"], body, namespace=meta["namespace"], patch_type="merge"
    )
