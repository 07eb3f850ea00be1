"""Who steers a rule's weights. One Canary owns them: of the Canaries naming the same route and
a shared backend, the oldest. Any other writer that keeps changing them (another controller, a
second installation) is detected by repeated drift and held off — the Canary stops writing and
says who — instead of being fought on live traffic.

Pure: claims and statuses in, transitions out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from canary.api.conditions import ConditionReason, ConditionStatus
from canary.api.control import PromotionMode
from canary.api.status import CanaryStatus, Drift, Phase
from canary.core.context import Context, Transition, event, kept_reason
from canary.core.decision import EmitEvent, EventReason

CONTEST_WINDOW = timedelta(seconds=60)
CONTEST_RESTORES = 2  # weights put back this often within the window: the next drift holds
HOLD_RECHECK = timedelta(seconds=15)


@dataclass(frozen=True)
class Claim:
    """A Canary's claim on a route's weights."""

    name: str
    created: str  # metadata.creationTimestamp (RFC 3339, so it sorts by time)
    backends: frozenset[tuple[str, str, int]]  # its stable and canary (namespace, name, port)


def owner_of(me: Claim, others: Iterable[Claim]) -> str | None:
    """The Canary that owns the weights `me` would steer, when it is not `me`: the oldest claim
    on the same route sharing a backend with `me` (by creation time, then name)."""
    rivals = [c for c in others if c.name != me.name and c.backends & me.backends]
    first = min([me, *rivals], key=lambda c: (c.created, c.name))
    return None if first is me else first.name


def put_back(ctx: Context, status: CanaryStatus, restore: Transition) -> Transition:
    """The route does not carry the weight `status` set: `restore` it — unless the weights were
    already put back `CONTEST_RESTORES` times within `CONTEST_WINDOW`; then hold instead,
    writing nothing, and name the field manager that keeps changing them."""
    route = ctx.observations.route
    if status.route_generation is not None and route.generation == status.route_generation:
        return restore  # our own last write has not landed (failed, or cut short): not drift
    drift = status.drift or Drift()
    recent = tuple(t for t in drift.restores if ctx.now - t < CONTEST_WINDOW)
    if len(recent) >= CONTEST_RESTORES:
        writer = ctx.observations.route.writer or "an unknown writer"
        held = Drift(restores=recent, held_by=writer, held_since=ctx.now)
        return hold(ctx, status.model_copy(update={"drift": held}))
    record = Drift(restores=(*recent, ctx.now)[-CONTEST_RESTORES:])
    return replace(restore, status=restore.status.model_copy(update={"drift": record}))


def holding(status: CanaryStatus) -> bool:
    return status.drift is not None and status.drift.held_by is not None


def released(ctx: Context, status: CanaryStatus) -> CanaryStatus | None:
    """A held Canary is released once the route carries its weight again (the other writer
    stopped, or someone put the weights back): the status without the hold, else None."""
    if ctx.observations.route.canary_weight != status.canary_weight:
        return None
    return status.model_copy(update={"drift": None})


def unless_held(
    ctx: Context, status: CanaryStatus, move: Callable[[Context, CanaryStatus], Transition]
) -> Transition:
    """`move`, unless the Canary holds against another writer and the route still does not
    carry its weights (then it keeps holding, writing and checking nothing)."""
    if holding(status):
        freed = released(ctx, status)
        if freed is None:
            return hold(ctx, status)
        status = freed
    return move(ctx, status)


def hold(ctx: Context, status: CanaryStatus) -> Transition:
    text = contest_message(ctx, status)
    return Transition(
        status=status, reason=kept_reason(status), message=text, requeue_after=HOLD_RECHECK,
        notes=(text,),
    )


def contest_message(ctx: Context, status: CanaryStatus) -> str:
    drift = status.drift or Drift()
    observed = ctx.observations.route.canary_weight
    seen = "mixed weights" if observed is None else f"{observed}% on the canary"
    return (
        f"Field manager {drift.held_by!r} keeps changing the weights of "
        f"{ctx.spec.route_ref.name} (put back {len(drift.restores)} times within "
        f"{int(CONTEST_WINDOW.total_seconds())}s; now {seen}, this Canary set "
        f"{status.canary_weight}%): holding without writing, so the two do not flap live "
        f"traffic. Stop the other writer; the rollout carries on once the route carries "
        f"{status.canary_weight}% again, or request a retry (`canary retry NAME`) to take the "
        f"weights back"
    )


def owned_elsewhere(ctx: Context, status: CanaryStatus, owner: str) -> Transition:
    """Another Canary owns these weights: this one writes nothing, checks nothing."""
    text = owned_message(ctx, owner)
    return Transition(status=status, reason=kept_reason(status), message=text, notes=(text,))


def owned_message(ctx: Context, owner: str) -> str:
    return (
        f"Canary {owner} owns the weights of {ctx.spec.route_ref.name} for "
        f"{ctx.spec.stable} / {ctx.spec.canary} (it was created first and names the same "
        f"route and backend): this Canary writes nothing while {owner} exists. Delete one of "
        f"the two, or point this one at other backends"
    )


def sync_condition(
    ctx: Context, status: CanaryStatus, route_weight: int | None
) -> tuple[ConditionStatus, str, str]:
    """WeightsInSync: (status, reason, message) for the status about to be written."""
    owner = ctx.observations.owner
    if owner is not None:
        text = owned_message(ctx, owner)
        return (ConditionStatus.FALSE, ConditionReason.OWNED_BY_ANOTHER_CANARY, text)
    if holding(status):
        return (
            ConditionStatus.FALSE,
            ConditionReason.CONTESTED_BY_FIELD_MANAGER,
            contest_message(ctx, status),
        )
    if route_weight is None and _rewritten(ctx, status):
        return (
            ConditionStatus.TRUE,
            ConditionReason.IN_SYNC,
            f"The managed rules were rewritten to {ctx.spec.canary} alone.",
        )
    if route_weight is None:
        return (
            ConditionStatus.UNKNOWN,
            ConditionReason.ROUTE_WEIGHTS_UNKNOWN,
            f"{ctx.spec.route_ref.name} does not show one canary weight (it is missing, lacks "
            "the backends, or its managed rules disagree).",
        )
    if route_weight == status.canary_weight:
        return (
            ConditionStatus.TRUE,
            ConditionReason.IN_SYNC,
            f"The route carries {route_weight}% on the canary, as this Canary set.",
        )
    text = (
        f"{ctx.spec.route_ref.name} carries {route_weight}% on {ctx.spec.canary}, not the "
        f"{status.canary_weight}% this Canary set"
    )
    if not status.phase.active:
        text += (
            ": it was changed after the rollout finished (e.g. re-applied from Git). The "
            "operator leaves a finished rollout's route alone: put the weights back in the "
            "route's source, or start a new revision."
        )
    return (ConditionStatus.FALSE, ConditionReason.ROUTE_CHANGED, text + ".")


def sync_events(old: CanaryStatus, new: CanaryStatus) -> tuple[EmitEvent, ...]:
    """One Warning when WeightsInSync turns False for a new reason (never on every pass)."""
    was, now = old.condition("WeightsInSync"), new.condition("WeightsInSync")
    if now is None or now.status != ConditionStatus.FALSE:
        return ()
    if was is not None and (was.status, was.reason) == (now.status, now.reason):
        return ()
    reason = {
        ConditionReason.OWNED_BY_ANOTHER_CANARY: EventReason.OWNED_BY_ANOTHER_CANARY,
        ConditionReason.CONTESTED_BY_FIELD_MANAGER: EventReason.WEIGHTS_CONTESTED,
    }.get(ConditionReason(now.reason), EventReason.ROUTE_CHANGED)
    if reason is EventReason.ROUTE_CHANGED and new.phase.active:
        return ()  # an unfinished rollout puts the weights back itself (WeightsRestored)
    return (event(reason, now.message, warning=True),)


def _rewritten(ctx: Context, status: CanaryStatus) -> bool:
    """A finished Rewrite promotion: the managed rules no longer hold the stable backend."""
    return (
        status.phase is Phase.SUCCEEDED
        and ctx.spec.promotion.mode is PromotionMode.REWRITE
        and ctx.observations.route.exists
        and not ctx.observations.route.rules
    )
