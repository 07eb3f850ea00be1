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
LAG_MARK = timedelta(seconds=2)
"""A gateway this far behind the step's write is lagging: the step restarts once it catches up."""
LAG_GRACE = timedelta(seconds=10)
"""A lag this long is reported: RouteAccepted=False (StatusOutdated) and an Event."""


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


def overdue(ctx: Context, status: CanaryStatus) -> bool:
    """The gateway has lagged longer than the grace: no longer a quiet wait."""
    since = status.gateway_lag_since
    return since is not None and ctx.now - since >= LAG_GRACE


def hold(ctx: Context, status: CanaryStatus) -> Transition:
    """The route cannot carry traffic: nothing moves, nothing is checked; look again soon."""
    if settling(ctx, status):
        status = _mark_lag(ctx, status)
        if not overdue(ctx, status):
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


def hints(ctx: Context) -> tuple[str, ...]:
    """What the route diagnosis found worth knowing that does not hold the rollout (an
    unclaimed GatewayClass whose Gateway is accepted, a fault in a rule the Canary does not
    manage): told in RouteAccepted's message and, once each, as an Event."""
    return tuple(hint.message for hint in ctx.observations.route.hints)


def kept_route(status: CanaryStatus) -> tuple[str, str] | None:
    """A finished rollout no longer watches its route (after a Rewrite promotion the stable
    backend is gone on purpose): keep what RouteAccepted last said."""
    route = status.condition("RouteAccepted")
    if route is None or route.status == "True":
        return None
    return route.reason, route.message



def _mark_lag(ctx: Context, status: CanaryStatus) -> CanaryStatus:
    """Record (once) that the gateway is lagging behind the step's write. A gateway that answers
    within `LAG_MARK` costs no status write; one that does not gets the step restarted."""
    began = status.step_started_at
    if status.gateway_lag_since is not None or began is None or ctx.now - began < LAG_MARK:
        return status
    return status.model_copy(update={"gateway_lag_since": ctx.now})


def caught_up(ctx: Context, status: CanaryStatus) -> CanaryStatus:
    """The gateway reports the route's latest generation again: a step that waited for it
    starts its interval now, so the new weight gets its full exposure before it is checked."""
    if status.gateway_lag_since is None:
        return status
    update: dict[str, object] = {"gateway_lag_since": None}
    if status.phase in (Phase.PROGRESSING, Phase.PAUSED) and status.step_started_at is not None:
        update["step_started_at"] = ctx.now
        if status.step_starts:  # the new split took effect only now
            update["step_starts"] = (*status.step_starts[:-1], ctx.now)
    return status.model_copy(update=update)
