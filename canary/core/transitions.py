"""The moves more than one phase makes — start, advance a step, enter a pause step, promote,
roll back — each returning the new status, the actions and the events that go with it.

Pure functions of (context, status). Which move happens when is chosen by the phase handlers
(`canary.core.phases`) and by manual requests (`canary.core.requests`); moves only one phase
makes stand below its handler in `canary.core.phases`.
"""

from __future__ import annotations

from datetime import timedelta

from canary.api.conditions import ConditionReason
from canary.api.duration import format_duration
from canary.api.status import CanaryStatus, Phase
from canary.api.workload import WorkloadStatus
from canary.core import timing, weights
from canary.core.context import Context, Transition, event
from canary.core.decision import EventReason, PromoteTemplate, SetWeights

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
        workload=status.workload,  # what the primary runs outlives a rollout
    )


def start(ctx: Context, status: CanaryStatus) -> Transition:
    """Apply the first step: Progressing, every counter and result cleared."""
    new = _at(
        ctx,
        status,
        weights.schedule(ctx.spec.steps)[0],
        started_at=ctx.now,
        step_starts=(ctx.now,),
        last_check_time=None,
        looked_at=None,
        failed_checks=0,
        metrics=(),
        request_count=None,
    )
    text = f"Started rolling out {ctx.rollout(new)}: {ctx.step_label(new)}"
    return _stepped(ctx, new, EventReason.ROLLOUT_STARTED, text)


def advance(ctx: Context, status: CanaryStatus, why: str) -> Transition:
    """Move to the next step, or promote after the last one."""
    following = weights.next_weight(ctx.spec.steps, status.canary_weight)
    if following is None:
        return promote(ctx, status, why)
    new = _at(ctx, status, following)
    return _stepped(ctx, new, EventReason.STEP_ADVANCED, f"{why}; now at {ctx.step_label(new)}")


def _at(ctx: Context, status: CanaryStatus, canary: int, **changes: object) -> CanaryStatus:
    """`status` at the step of weight `canary`, Progressing, with the step just begun."""
    stable, canary = weights.split(canary)
    return status.model_copy(
        update={
            "phase": Phase.PROGRESSING,
            "canary_weight": canary,
            "stable_weight": stable,
            "current_step": weights.step_number(ctx.spec.steps, canary),
            "total_steps": len(weights.schedule(ctx.spec.steps)),
            "step_started_at": ctx.now,
            "step_starts": (*status.step_starts, ctx.now)[-128:],
            "paused_at": None,
            "inconclusive_checks": 0,
            **changes,
        }
    )


def _stepped(ctx: Context, new: CanaryStatus, reason: EventReason, text: str) -> Transition:
    """The transition onto the step `new` stands at: its weights written, announced."""
    return Transition(
        status=new,
        reason=ConditionReason.ROLLOUT_IN_PROGRESS,
        message=text,
        actions=(SetWeights(new.canary_weight), event(reason, text)),
        requeue_after=timing.next_wake(ctx, new),
        notes=(text,),
    )


def pause(ctx: Context, status: CanaryStatus, why: str) -> Transition:
    """Enter the pause declared after the current step."""
    declared = ctx.spec.steps.pause_at(status.canary_weight)
    length = None if declared is None else declared.length
    new = status.model_copy(update={"phase": Phase.PAUSED, "paused_at": ctx.now})
    # Checks go on during the pause when there are gates; a timed pause also ends by itself.
    look = timing.until(timing.look_due_at(ctx.spec, new), ctx.now)
    wake = timing.earliest(ctx.interval if ctx.has_gates else None, length, look)
    if length is None:
        reason = ConditionReason.AWAITING_PROMOTION
        text = (
            f"{why}; paused at {ctx.step_label(new)} until promoted: set "
            "spec.requests.promote to a new value (e.g. `canary promote NAME`)"
        )
    else:
        reason = ConditionReason.PAUSE_STEP
        text = f"{why}; paused at {ctx.step_label(new)} for {format_duration(length)}"
    return Transition(
        status=new, reason=reason, message=text, actions=(event(EventReason.PAUSED, text),),
        requeue_after=wake, notes=(text,),
    )


def promote(ctx: Context, status: CanaryStatus, why: str) -> Transition:
    """Put 100 % on the canary: phase Promoting, which `phases.promoting` turns into Succeeded
    once the route shows it. Workload mode: copy the canary's pod template to the primary
    instead; the traffic stays where it is until the primary runs it (`workload.promoting`)."""
    if ctx.spec.workload is not None:
        return _promote_workload(ctx, status, why)
    new = promoting(status)
    text = f"{why}; promoting {ctx.rollout(new)}: 100% to the canary"
    return Transition(
        status=new,
        reason=ConditionReason.PROMOTING,
        message=text,
        actions=(SetWeights(weights.PROMOTED), event(EventReason.PROMOTING, text)),
        requeue_after=PROMOTION_RECHECK,
        notes=(text,),
    )


def _promote_workload(ctx: Context, status: CanaryStatus, why: str) -> Transition:
    assert ctx.spec.workload is not None
    new = status.model_copy(update={"phase": Phase.PROMOTING, "paused_at": None})
    new = with_workload(new, waiting_since=ctx.now)
    text = (f"{why}; promoting {ctx.rollout(new)}: copying its pod template to "
            f"{ctx.spec.workload.primary}, then 100% back to it")
    return Transition(
        status=new, reason=ConditionReason.PROMOTING, message=text,
        actions=(PromoteTemplate(str(new.revision)), event(EventReason.PROMOTING, text)),
        requeue_after=PROMOTION_RECHECK, notes=(text,),
    )


def recorded_workload(status: CanaryStatus) -> WorkloadStatus:
    """What the status records about the workload (empty when nothing yet)."""
    return status.workload if status.workload is not None else WorkloadStatus()


def with_workload(status: CanaryStatus, **changes: object) -> CanaryStatus:
    """`status` with `status.workload` updated by `changes`."""
    recorded = recorded_workload(status)
    return status.model_copy(update={"workload": recorded.model_copy(update=changes)})


def promoting(status: CanaryStatus) -> CanaryStatus:
    """`status` in phase Promoting: 100 % on the canary."""
    return status.model_copy(
        update={
            "phase": Phase.PROMOTING,
            "canary_weight": weights.PROMOTED,
            "stable_weight": 0,
            "paused_at": None,
        }
    )


def roll_back(
    ctx: Context, status: CanaryStatus, *, reason: ConditionReason, why: str
) -> Transition:
    """Decide the rollback: phase RollingBack, 100 % to the stable backend at once.

    The reconciler writes this status before the route, so the decision is durable before any
    traffic moves: whatever happens next (a crash, a failed write, a new leader), the next pass
    reads RollingBack and only ever writes 0 % to the canary. `phases.rolling_back` turns it
    into RolledBack once the route shows it."""
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
    return Transition(
        status=new, reason=reason, message=text, actions=actions,
        requeue_after=ROLLBACK_RECHECK, notes=(text,),
    )
