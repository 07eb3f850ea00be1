"""Carry out a Decision's actions: route writes through the traffic router, then Events.

Only executes; never decides. A failed route write becomes a Warning event and a
TemporaryError, so the key is retried with backoff while the status already says where the
rollout stands.
"""

from __future__ import annotations

from typing import Protocol

from canary.api.spec import CanarySpec
from canary.controller.events import EventSink
from canary.controller.outcome import PermanentError, TemporaryError
from canary.controller.routes import target_of
from canary.core.decision import Action, EmitEvent, RewriteRoute, SetWeights
from canary.kube.errors import Forbidden, Invalid, KubeError
from canary.kube.resources import JsonObj
from canary.routers.base import TrafficRouter
from canary.routers.errors import RouteChangedUnderDecisionError, RouterError


class Host(Protocol):
    """What the executor needs from the reconciler."""

    @property
    def events(self) -> EventSink: ...

    def router(self, kind: str) -> TrafficRouter: ...

    def cached_route(self, obj: JsonObj, spec: CanarySpec) -> JsonObj | None: ...

    def remember_route(self, route: JsonObj) -> None: ...


async def execute(
    host: Host, obj: JsonObj, spec: CanarySpec | None, actions: tuple[Action, ...]
) -> bool:
    """Run `actions` in order (route first, events after); True if the route was written.

    Events are recorded even when a route write fails; the failure then becomes a Warning
    event and a retry (`TemporaryError`), or `PermanentError` when retrying cannot help.
    """
    try:
        return await _write_route(host, obj, spec, actions)
    finally:
        await _emit_events(host, obj, actions)


async def _write_route(
    host: Host, obj: JsonObj, spec: CanarySpec | None, actions: tuple[Action, ...]
) -> bool:
    """Only the route actions; True if the route was written."""
    wrote = False
    for action in actions:
        if isinstance(action, EmitEvent) or spec is None:
            continue
        try:
            wrote |= await _route_action(host, obj, spec, action)
        except RouteChangedUnderDecisionError as exc:
            # Not a failure: the route moved under the decision; the next pass decides again,
            # on the route as it is now.
            host.remember_route(exc.route)
            raise TemporaryError(str(exc), delay=0) from exc
        except (KubeError, RouterError) as exc:
            await host.events.emit(
                obj,
                type="Warning",
                reason="RouteWriteFailed",
                message=f"Could not update the route: {exc}",
            )
            if isinstance(exc, (Forbidden, Invalid)):
                raise PermanentError(str(exc)) from exc
            raise TemporaryError(str(exc)) from exc
    return wrote


async def _emit_events(host: Host, obj: JsonObj, actions: tuple[Action, ...]) -> None:
    for action in actions:
        if isinstance(action, EmitEvent):
            await host.events.emit(
                obj, type=action.type, reason=action.reason, message=action.message
            )


async def _route_action(host: Host, obj: JsonObj, spec: CanarySpec, action: Action) -> bool:
    target = target_of(obj["metadata"]["namespace"], spec)
    router = host.router(target.route.kind)
    cached = host.cached_route(obj, spec)
    written: JsonObj | None = None
    match action:
        case SetWeights(canary=weight):
            written = await router.set_weights(target, canary_weight=weight, route=cached)
        case RewriteRoute():
            written = await router.rewrite(target, route=cached)
    if written is None:
        return False
    host.remember_route(written)  # the next pass must not judge the route on an older copy
    return True
