"""The moves of a rollout — start, advance a step, pause, promote, finish promotion, roll back —
each returning the new status, the actions and the events that go with it.

Pure functions of (context, status); which move happens when is chosen in `canary.core.decide`
and `canary.core.progress`.
"""

from __future__ import annotations

from datetime import timedelta

from canary.api.conditions import ConditionReason
from canary.api.control import PromotionMode
from canary.api.duration import format_duration
from canary.api.status import CanaryStatus, Phase
from canary.core import ownership, timing, weights
from canary.core.context import Context, Outcome, event, idle, kept_reason
from canary.core.decision import EventReason, RewriteRoute, SetWeights

PROMOTION_RECHECK = timedelta(seconds=5)
ROLLBACK_RECHECK = timedelta(seconds=1)


def fresh(ctx: Context, status: CanaryStatus) -> CanaryStatus:
    """A status for a new rollout of the spec's revision, not started: all progress cleared,
    handled requests kept (a request acts once, whatever the revision)."""
    return CanaryStatus(
        phase=Phase.PENDING,
        revision=ctx.spec.target_revision,
        canary_backend=ctx.spec.canary,
        total_steps=len(weights.schedule(ctx.spec.steps)),
        handled_requests=status.handled_requests,
        conditions=status.conditions,
    )


def _at(ctx: Context, status: CanaryStatus, canary: int, **changes: object) -> CanaryStatus:
    stable, canary = weights.split(canary)
    return status.model_copy(
        update={
            "canary_weight": canary,
            "stable_weight": stable,
            "current_step": weights.step_number(ctx.spec.steps, canary),
            "total_steps": len(weights.schedule(ctx.spec.steps)),
            **changes,
        }
    )


def start(ctx: Context, status: CanaryStatus) -> Outcome:
    first = weights.schedule(ctx.spec.steps)[0]
    new = _at(
        ctx,
        status,
        first,
        phase=Phase.PROGRESSING,
        started_at=ctx.now,
        step_started_at=ctx.now,
        paused_at=None,
        last_check_time=None,
        failed_checks=0,
        inconclusive_checks=0,
        metrics=(),
        request_count=None,
    )
    text = f"Started rolling out {ctx.rollout(new)}: {ctx.step_label(new)}"
    return Outcome(
        new,
        ConditionReason.ROLLOUT_IN_PROGRESS,
        text,
        (SetWeights(first), event(EventReason.ROLLOUT_STARTED, text)),
        ctx.interval,
        (text,),
    )


def advance(ctx: Context, status: CanaryStatus, why: str) -> Outcome:
    """Move to the next step, or promote after the last one."""
    following = weights.next_weight(ctx.spec.steps, status.canary_weight)
    if following is None:
        return promote(ctx, status, why)
    new = _at(
        ctx,
        status,
        following,
        phase=Phase.PROGRESSING,
        step_started_at=ctx.now,
        paused_at=None,
        inconclusive_checks=0,
    )
    text = f"{why}; now at {ctx.step_label(new)}"
    return Outcome(
        new,
        ConditionReason.ROLLOUT_IN_PROGRESS,
        text,
        (SetWeights(following), event(EventReason.STEP_ADVANCED, text)),
        ctx.interval,
        (text,),
    )


def pause(ctx: Context, status: CanaryStatus, why: str) -> Outcome:
    """Enter the pause declared after the current step."""
    declared = ctx.spec.steps.pause_at(status.canary_weight)
    length = None if declared is None else declared.length
    new = status.model_copy(update={"phase": Phase.PAUSED, "paused_at": ctx.now})
    # Checks go on during the pause when there are gates; a timed pause also ends by itself.
    wake = timing.earliest(ctx.interval if ctx.has_gates else None, length)
    if length is None:
        reason = ConditionReason.AWAITING_PROMOTION
        text = (
            f"{why}; paused at {ctx.step_label(new)} until promoted: set "
            "spec.requests.promote to a new value (e.g. `canary promote NAME`)"
        )
    else:
        reason = ConditionReason.PAUSE_STEP
        text = f"{why}; paused at {ctx.step_label(new)} for {format_duration(length)}"
    return Outcome(new, reason, text, (event(EventReason.PAUSED, text),), wake, (text,))


def promote(ctx: Context, status: CanaryStatus, why: str, *, announce: bool = True) -> Outcome:
    """Put 100 % on the canary; `finish_promotion` follows once the route shows it. Applying
    it again while the route does not show it yet is not announced again."""
    new = status.model_copy(
        update={
            "phase": Phase.PROMOTING,
            "canary_weight": weights.PROMOTED,
            "stable_weight": 0,
            "paused_at": None,
        }
    )
    if not announce:
        text = status.message or f"Promoting {ctx.rollout(new)}"
        again = Outcome(
            new,
            ConditionReason.PROMOTING,
            text,
            (SetWeights(weights.PROMOTED),),
            PROMOTION_RECHECK,
            ("the route does not carry 100% yet; applied again",),
        )
        return ownership.put_back(ctx, status, again)
    text = f"{why}; promoting {ctx.rollout(new)}: 100% to the canary"
    return Outcome(
        new,
        ConditionReason.PROMOTING,
        text,
        (SetWeights(weights.PROMOTED), event(EventReason.PROMOTING, text)),
        PROMOTION_RECHECK,
        (text,),
    )


def finish_promotion(ctx: Context, status: CanaryStatus) -> Outcome:
    new = status.model_copy(update={"phase": Phase.SUCCEEDED})
    rewrite = ctx.spec.promotion.mode is PromotionMode.REWRITE
    text = f"Promoted {ctx.rollout(new)}: 100% of the traffic goes to the canary"
    if rewrite:
        text += f"; the managed rules now have {ctx.spec.canary} as their only backend"
    actions = (*((RewriteRoute(),) if rewrite else ()), event(EventReason.PROMOTED, text))
    return Outcome(new, ConditionReason.PROMOTED, text, actions, None, (text,))


def roll_back(ctx: Context, status: CanaryStatus, *, reason: ConditionReason, why: str) -> Outcome:
    """Decide the rollback: phase RollingBack, 100 % to the stable backend at once.

    The reconciler writes this status before the route, so the decision is durable before any
    traffic moves: whatever happens next (a crash, a failed write, a new leader), the next pass
    reads RollingBack and only ever writes 0 % to the canary. `finish_rollback` turns it into
    RolledBack once the route shows it."""
    new = status.model_copy(
        update={
            "phase": Phase.ROLLING_BACK,
            "canary_weight": weights.ROLLED_BACK,
            "stable_weight": 100,
            "paused_at": None,
        }
    )
    text = f"{why}; rolling back {ctx.rollout(new)}: 100% to {ctx.spec.stable}"
    actions = (
        *((SetWeights(weights.ROLLED_BACK),) if ctx.route_writable else ()),
        *(
            (event(EventReason.ABORTED, why, warning=True),)
            if reason is ConditionReason.ABORTED
            else ()
        ),
        event(EventReason.ROLLING_BACK, text, warning=True),
    )
    return Outcome(new, reason, text, actions, ROLLBACK_RECHECK, (text,))


def continue_rollback(ctx: Context, status: CanaryStatus) -> Outcome:
    """RollingBack: RolledBack once the route no longer sends traffic to the canary (it shows
    0 %, or it is gone or no longer holds the canary backend); until then write 0 % again.
    Never anything else: not a step, not a check, not a drift restore."""
    route = ctx.observations.route
    if ctx.route_writable and route.canary_weight != weights.ROLLED_BACK:
        again = Outcome(
            status,
            kept_reason(status),
            status.message,
            (SetWeights(weights.ROLLED_BACK),),
            ROLLBACK_RECHECK,
            ("the route does not show 0% on the canary yet; applied again",),
        )
        return ownership.put_back(ctx, status, again)
    return finish_rollback(ctx, status)


def finish_rollback(ctx: Context, status: CanaryStatus) -> Outcome:
    new = status.model_copy(update={"phase": Phase.ROLLED_BACK})
    decided = status.message or f"Rolling back {ctx.rollout(new)}"
    text = (
        f"{decided}. Done: the route sends nothing to {ctx.spec.canary}. Start again with a new "
        "spec.revision, or request a retry (`canary retry NAME`)"
    )
    return Outcome(
        new,
        kept_reason(status),
        text,
        (event(EventReason.ROLLED_BACK, text, warning=True),),
        None,
        (text,),
    )


def keep_final(ctx: Context, status: CanaryStatus) -> Outcome:
    """A finished rollout leaves the route alone, with two exceptions: a RolledBack canary is
    kept at 0 % (a second line of defence: RollingBack already confirmed it once), and a
    Rewrite promotion whose route write failed or was cut short by a restart is completed."""
    route = ctx.observations.route
    if status.phase is Phase.ROLLED_BACK and ctx.route_writable and route.canary_weight != 0:
        text = (
            f"Rolled back, but {ctx.spec.route_ref.name} still sends traffic to "
            f"{ctx.spec.canary}: 100% restored to {ctx.spec.stable}"
        )
        restore = idle(status).then(
            SetWeights(weights.ROLLED_BACK),
            event(EventReason.WEIGHTS_RESTORED, text, warning=True),
            note=text,
        )
        return ownership.put_back(ctx, status, restore)
    promoted_in_full = route.attached and all(
        rule.stable == 0 and rule.canary > 0 for rule in route.rules
    )
    if (
        status.phase is Phase.SUCCEEDED
        and ctx.spec.promotion.mode is PromotionMode.REWRITE
        and promoted_in_full
    ):
        return idle(status).then(RewriteRoute(), note="finishing the Rewrite promotion")
    return idle(status)
