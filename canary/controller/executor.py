"""Carry out a Decision's actions: route writes through the traffic router and workload writes
(workload mode), in the order the decision lists them, then Events.

Only executes; never decides. A failed route or workload write becomes a Warning event and a
TemporaryError, so the key is retried with backoff while the status already says where the
rollout stands.
"""

from __future__ import annotations

from typing import NoReturn

from canary.api.spec import CanarySpec
from canary.controller.effects import Effects
from canary.controller.result import PermanentError, TemporaryError
from canary.controller.workloads import WorkloadWriteError, workload_action
from canary.core.decision import (
    Action,
    EmitEvent,
    EnsureWorkload,
    PromoteTemplate,
    RewriteRoute,
    ScaleWorkload,
    SetWeights,
)
from canary.kube.errors import Conflict, Forbidden, Invalid, KubeError
from canary.kube.resources import JsonObj
from canary.routers.errors import RouteChangedUnderDecisionError, RouterError
from canary.routers.target import target_of


async def execute(
    effects: Effects, obj: JsonObj, spec: CanarySpec | None, actions: tuple[Action, ...]
) -> bool:
    """Run `actions` in order (route and workload writes as listed, events after); True if the
    route was written.

    Events are recorded even when a route write fails; the failure then becomes a Warning
    event and a retry (`TemporaryError`), or `PermanentError` when retrying cannot help.
    """
    try:
        return await _write_route(effects, obj, spec, actions)
    finally:
        await _emit_events(effects, obj, actions)


async def _write_route(
    effects: Effects, obj: JsonObj, spec: CanarySpec | None, actions: tuple[Action, ...]
) -> bool:
    """The route and workload actions, in order; True if the route was written."""
    wrote = False
    for action in actions:
        if isinstance(action, EmitEvent) or spec is None:
            continue
        if isinstance(action, EnsureWorkload | PromoteTemplate | ScaleWorkload):
            await _write_workload(effects, obj, spec, action)
            continue
        try:
            wrote |= await _route_action(effects, obj, spec, action)
        except RouteChangedUnderDecisionError as exc:
            # Not a failure: the route moved under the decision; the next pass decides again,
            # on the route as it is now.
            effects.remember_route(exc.route)
            raise TemporaryError(str(exc), delay=0) from exc
        except (KubeError, RouterError) as exc:
            await _write_failed(
                effects, obj, exc, "RouteWriteFailed", f"Could not update the route: {exc}"
            )
    return wrote


async def _write_workload(
    effects: Effects,
    obj: JsonObj,
    spec: CanarySpec,
    action: EnsureWorkload | PromoteTemplate | ScaleWorkload,
) -> None:
    """One workload action; a failure is a `WorkloadWriteFailed` Warning and a retry (or a
    `PermanentError` when retrying cannot help), and stops the actions after it."""
    try:
        await workload_action(effects.kube, effects.caches, obj, spec, action)
    except Conflict as exc:  # the object changed under us: decide again on fresh state
        raise TemporaryError(str(exc), delay=0) from exc
    except (KubeError, WorkloadWriteError) as exc:
        await _write_failed(
            effects, obj, exc, "WorkloadWriteFailed", f"Could not {_doing(action)}: {exc}"
        )


async def _write_failed(
    effects: Effects, obj: JsonObj, exc: Exception, reason: str, message: str
) -> NoReturn:
    """A failed route or workload write: a Warning event `reason`, then a retry with backoff
    (`TemporaryError`), or `PermanentError` when retrying cannot help (Forbidden, Invalid)."""
    await effects.events.emit(obj, type="Warning", reason=reason, message=message)
    if isinstance(exc, (Forbidden, Invalid)):
        raise PermanentError(str(exc)) from exc
    raise TemporaryError(str(exc)) from exc


def _doing(action: EnsureWorkload | PromoteTemplate | ScaleWorkload) -> str:
    match action:
        case EnsureWorkload():
            return "create the primary Deployment and the Services"
        case PromoteTemplate(revision=revision):
            return f"copy the pod template {revision} to the primary"
        case ScaleWorkload(replicas=replicas, primary=primary):
            return f"scale the {'primary' if primary else 'canary'} Deployment to {replicas}"


async def _emit_events(effects: Effects, obj: JsonObj, actions: tuple[Action, ...]) -> None:
    for action in actions:
        if isinstance(action, EmitEvent):
            await effects.events.emit(
                obj, type=action.type, reason=action.reason, message=action.message
            )


async def _route_action(effects: Effects, obj: JsonObj, spec: CanarySpec, action: Action) -> bool:
    target = target_of(obj["metadata"]["namespace"], spec)
    router = effects.router(target.route.kind)
    cached = effects.cached_route(target)
    written: JsonObj | None = None
    match action:
        case SetWeights(canary=weight):
            written = await router.set_weights(target, canary_weight=weight, route=cached)
        case RewriteRoute():
            written = await router.rewrite(target, route=cached)
    if written is None:
        return False
    effects.remember_route(written)  # the next pass must not judge the route on an older copy
    return True
