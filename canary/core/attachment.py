"""The route's attachment as the rollout sees it: the problem to report while it cannot carry
traffic, holding the rollout meanwhile, and the events when RouteAccepted or InvalidSpec change.

Pure: reads observations and statuses; writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from canary.api.conditions import ConditionReason, RouteReason
from canary.api.status import MESSAGE_LIMIT, CanaryStatus, Phase
from canary.core.conditions import Situation
from canary.core.context import Context, Outcome, clip, event, kept_reason
from canary.core.decision import EmitEvent, EventReason

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


def hold(ctx: Context, status: CanaryStatus) -> Outcome:
    if settling(ctx, status):
        note = "waiting for the gateway to process the route's latest generation"
        return Outcome(status, kept_reason(status), status.message, (), SETTLE_RECHECK, (note,))
    issue = route_problem(ctx)
    text = f"Holding at {ctx.step_label(status)}: {issue[1] if issue else 'route not usable'}"
    reason = (
        kept_reason(status)
        if status.phase is not Phase.PENDING
        else (ConditionReason.ROLLOUT_PENDING)
    )
    return Outcome(status, reason, text, (), ROUTE_RECHECK, (text,))


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


def condition_events(
    old: CanaryStatus, new: CanaryStatus, situation: Situation
) -> tuple[EmitEvent, ...]:
    """Events for conditions that just changed: route accepted or not, spec invalid."""
    found: list[EmitEvent] = []
    was, now = old.condition("RouteAccepted"), new.condition("RouteAccepted")
    if now is not None and (was is None or (was.status, was.reason) != (now.status, now.reason)):
        if now.status == "False" and new.phase.active:
            found.append(event(EventReason.ROUTE_NOT_ACCEPTED, now.message, warning=True))
        elif now.status == "True" and was is not None:
            found.append(event(EventReason.ROUTE_ACCEPTED, now.message))
    if situation.invalid is not None:
        was_invalid = old.condition("InvalidSpec")
        if was_invalid is None or was_invalid.status != "True":
            found.append(event(EventReason.INVALID_SPEC, situation.invalid[1], warning=True))
    return tuple(found)
