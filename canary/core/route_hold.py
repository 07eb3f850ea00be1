"""Holding a rollout while its route cannot carry traffic (missing, without both backends, not
accepted by its Gateway), the RouteAccepted problem reported meanwhile, and the short quiet wait
while the gateway catches up with our own last write.

Pure: reads observations and statuses; writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from canary.api.conditions import ConditionReason, RouteReason
from canary.api.status import MESSAGE_LIMIT, CanaryStatus, Phase
from canary.core.context import Context, Transition, clip, kept_reason

ROUTE_RECHECK = timedelta(seconds=15)
SETTLE_RECHECK = timedelta(seconds=1)
OUTDATED = RouteReason.STATUS_OUTDATED


def settling(ctx: Context, status: CanaryStatus) -> bool:
    """The gateway has not yet processed the route's latest generation (usually our own weight
    write) while the route was accepted before: a short, quiet wait, not a route problem."""
    route = ctx.observations.route
    was = status.condition("RouteAccepted")
    return (
        route.exists
        and bool(route.rules)
        and bool(route.issues)
        and all(issue.reason == OUTDATED for issue in route.issues)
        and was is not None
        and was.status == "True"
    )


def hold(ctx: Context, status: CanaryStatus) -> Transition:
    """The route cannot carry traffic: nothing moves, nothing is checked; look again soon."""
    if settling(ctx, status):
        note = "waiting for the gateway to process the route's latest generation"
        return Transition(
            status=status, reason=kept_reason(status), message=status.message,
            requeue_after=SETTLE_RECHECK, notes=(note,),
        )
    issue = route_problem(ctx)
    text = f"Holding at {ctx.step_label(status)}: {issue[1] if issue else 'route not usable'}"
    pending = status.phase is Phase.PENDING
    reason = ConditionReason.ROLLOUT_PENDING if pending else kept_reason(status)
    return Transition(
        status=status, reason=reason, message=text, requeue_after=ROUTE_RECHECK, notes=(text,)
    )


def route_problem(ctx: Context) -> tuple[str, str] | None:
    """The RouteAccepted=False (reason, message) while the route cannot carry traffic: the first
    issue's specific reason (a valid condition reason, see `RouteIssue.condition_reason`)."""
    route = ctx.observations.route
    if route.attached:
        return None
    if route.issues:
        first = route.issues[0]
        return first.condition_reason, clip(first.message, MESSAGE_LIMIT)
    if not route.exists:
        return RouteReason.ROUTE_NOT_FOUND, f"HTTPRoute {ctx.spec.route_ref.name} was not found"
    return RouteReason.BACKENDS_NOT_IN_ROUTE, (
        f"no rule of {ctx.spec.route_ref.name} has both {ctx.spec.stable} and "
        f"{ctx.spec.canary} as backendRefs"
    )


def kept_route(status: CanaryStatus) -> tuple[str, str] | None:
    """A finished rollout no longer watches its route (after a Rewrite promotion the stable
    backend is gone on purpose): keep what RouteAccepted last said."""
    route = status.condition("RouteAccepted")
    if route is None or route.status == "True":
        return None
    return route.reason, route.message

