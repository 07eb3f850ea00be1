"""What the rollout does in each phase, one handler per phase: `decide` dispatches to them
through `decide.HANDLERS` once the rules that hold in every phase have had their say (see
`canary.core.decide`). Each handler stands with the helpers only it needs below it; moves shared
with manual requests are in `canary.core.transitions`. docs/state-machine.md has a section per
handler, under the same name.

Failed has no handler: `decide` only sees it for a spec that can be carried out again, and first
turns it back into the phase the rollout stood in.

Pure functions of (context, status).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from canary.api.conditions import ConditionReason
from canary.api.control import PromotionMode, RequestKind
from canary.api.status import CanaryStatus, MetricOutcome, MetricVerdict, Phase
from canary.core import ownership, requests, route_hold, timing, transitions, weights, workload
from canary.core.context import Context, Transition, event, idle, kept_reason
from canary.core.decision import EmitEvent, EventReason, RewriteRoute, SetWeights
from canary.core.verdicts import Check, run_check, run_look

# How often a look that changes no verdict still writes its evidence to the status.
EVIDENCE_REFRESH = timedelta(seconds=30)

# --- Pending ---------------------------------------------------------------------------------


def pending(ctx: Context, status: CanaryStatus) -> Transition:
    """Start at the first step as soon as the route can carry traffic (workload mode: and the
    canary is ready, `workload.pending`)."""
    if ctx.spec.workload is not None:
        return workload.pending(ctx, status)
    if not ctx.observations.route.attached:
        return route_hold.hold(ctx, status)
    return transitions.start(ctx, status)


# --- Progressing, Paused (a pause step) ------------------------------------------------------


def running_step(ctx: Context, status: CanaryStatus) -> Transition:
    """A step under way, or a pause step: put drifted weights back, end a pause that is over,
    run the metric check when it is due and advance, pause or roll back on its result."""
    if not ctx.observations.route.attached:
        return route_hold.hold(ctx, status)
    status = route_hold.caught_up(ctx, status)
    observed = ctx.observations.route.canary_weight
    if observed != status.canary_weight:
        return _restore(ctx, status, observed)
    if status.paused_at is not None:
        declared = ctx.spec.steps.pause_at(status.canary_weight)
        ends = timing.pause_ends_at(ctx.spec, status)
        if declared is None:
            return transitions.advance(ctx, status, "The pause was removed from the spec")
        if ends is not None and ctx.now >= ends:
            return transitions.advance(ctx, status, f"Pause at {status.canary_weight}% ended")
    if timing.check_is_due(ctx, status):
        return _checked(ctx, status, run_check(ctx.spec.analysis, ctx.observations, now=ctx.now))
    if ctx.spec.analysis is not None and timing.look_is_due(ctx, status):
        return _looked(ctx, status, run_look(ctx.spec.analysis, ctx.observations, now=ctx.now))
    return _waiting(ctx, status)


def _restore(ctx: Context, status: CanaryStatus, observed: int | None) -> Transition:
    seen = "mixed weights" if observed is None else f"canary weight {observed}%"
    text = (f"The route had {seen} instead of {status.canary_weight}%; restored it and "
            "restarted the step interval (edit the Canary, not the route, to steer a rollout)")
    new = status.model_copy(update={"step_started_at": ctx.now})
    return ownership.put_back(ctx, status, Transition(
        status=new, reason=_step_reason(ctx, new), message=text,
        actions=(
            SetWeights(status.canary_weight),
            event(EventReason.WEIGHTS_RESTORED, text, warning=True),
        ),
        requeue_after=timing.next_wake(ctx, new), notes=(text,),
    ))


def _step_reason(ctx: Context, status: CanaryStatus) -> ConditionReason:
    if status.paused_at is None:
        return ConditionReason.ROLLOUT_IN_PROGRESS
    declared = ctx.spec.steps.pause_at(status.canary_weight)
    if declared is not None and declared.until_promoted:
        return ConditionReason.AWAITING_PROMOTION
    return ConditionReason.PAUSE_STEP


def _waiting(ctx: Context, status: CanaryStatus) -> Transition:
    due = timing.check_due_at(ctx.spec, status)
    ends = timing.pause_ends_at(ctx.spec, status)
    label = ctx.step_label(status)
    if status.paused_at is None:
        text = f"At {label}; next check at {_clock(due)}"
    elif ends is None:
        text = (f"Paused at {label} until promoted: set spec.requests.promote to a new value "
                "(e.g. `canary promote NAME`)")
    else:
        text = f"Paused at {label} until {_clock(ends)}"
    text += _last_check(status)
    # A quiet pass keeps the message the last transition wrote: rewriting it every pass would
    # cost a status write per reconcile. The computed text only fills an empty message.
    return Transition(
        status=status, reason=_step_reason(ctx, status), message=status.message or text,
        requeue_after=timing.next_wake(ctx, status),
    )


def _last_check(status: CanaryStatus) -> str:
    """What the last check of this step found, so a quiet reconcile keeps the story."""
    checked, began = status.last_check_time, status.step_started_at
    if checked is None or began is None or checked < began or not status.metrics:
        return ""
    found = "; ".join(f"{r.name} {r.verdict}: {r.message}" for r in status.metrics)
    return f". Last check ({status.failed_checks} failed so far): {found}"


def _clock(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _checked(ctx: Context, status: CanaryStatus, check: Check) -> Transition:
    """Count the check (failed, inconclusive in a row) and act on it: roll back at the failure
    threshold, move on after a passing step, else stay."""
    analysis = ctx.spec.analysis
    threshold = analysis.failure_threshold if analysis else 1
    limit = analysis.inconclusive_limit if analysis else 0
    failed, unsure = status.failed_checks, status.inconclusive_checks
    label = ctx.step_label(status)
    events: list[EmitEvent] = [*_gate_events(check, label)]
    if check.verdict is MetricVerdict.FAIL:
        failed, unsure = failed + 1, 0
        text = f"Check failed at {label}, failed checks {failed}/{threshold}: {check.summary}"
        events.append(event(EventReason.METRIC_CHECK_FAILED, text, warning=True))
    elif check.pending:
        text = (f"Holding at {label} while the comparisons gather evidence (looked at again "
                f"every {_every(ctx)}): {check.summary}")
        events.append(event(EventReason.METRIC_CHECK_INCONCLUSIVE, text))
    elif check.verdict is MetricVerdict.INCONCLUSIVE:
        unsure += 1
        text = (f"Check inconclusive at {label}, inconclusive checks {unsure}/{limit or '∞'}: "
                f"{check.summary}")
        events.append(event(EventReason.METRIC_CHECK_INCONCLUSIVE, text, warning=True))
        if limit and unsure >= limit:
            failed, unsure = failed + 1, 0
            text = (f"{limit} inconclusive checks in a row count as a failed check at {label}, "
                    f"failed checks {failed}/{threshold}: {check.summary}")
            events.append(event(EventReason.METRIC_CHECK_FAILED, text, warning=True))
    else:
        unsure = 0
        text = f"Check passed at {label}: {check.summary}"
        events.append(event(EventReason.METRIC_CHECK_PASSED, text))
    new = status.model_copy(update={
        "last_check_time": ctx.now, "failed_checks": failed, "inconclusive_checks": unsure,
        "metrics": check.results, "request_count": check.request_count,
    })
    if check.harm:
        move = _harmed(ctx, new, check, label)
    elif failed >= threshold and failed > status.failed_checks:
        why = f"{failed} failed checks reached failureThreshold {threshold} ({check.summary})"
        move = transitions.roll_back(
            ctx, new, reason=ConditionReason.METRIC_CHECKS_FAILED, why=why
        )
    elif check.verdict is MetricVerdict.PASS and new.paused_at is None:
        if ctx.spec.steps.pause_at(new.canary_weight) is not None:
            move = transitions.pause(ctx, new, f"Step {new.current_step} passed")
        else:
            move = transitions.advance(ctx, new, f"Step {new.current_step} passed")
    else:
        move = Transition(
            status=new, reason=_step_reason(ctx, new), message=text,
            requeue_after=timing.next_wake(ctx, new), notes=(text,),
        )
    return move.then(*events)


def _harmed(ctx: Context, status: CanaryStatus, check: Check, label: str) -> Transition:
    """Conclusive evidence of harm from a comparison: roll back at once, whatever the failure
    threshold (the test's false-alarm rate already holds under every look)."""
    found = "; ".join(f"{r.name}: {r.message}" for r in check.harm)
    why = f"conclusive evidence of harm at {label} ({found})"
    return transitions.roll_back(ctx, status, reason=ConditionReason.METRIC_CHECKS_FAILED, why=why)


def _looked(ctx: Context, status: CanaryStatus, look: Check) -> Transition:
    """A look between checks: record the looked-at gates' results; roll back at once on
    conclusive harm; count a failing `failEarly` gate as a failed check."""
    label = ctx.step_label(status)
    looked = {r.name: r for r in look.results}
    kept = {r.name: r for r in status.metrics}
    names = [g.name for g in ctx.spec.analysis.metrics] if ctx.spec.analysis else []
    merged = tuple(looked.get(n) or kept[n] for n in names if n in looked or n in kept)
    new = status.model_copy(update={"looked_at": ctx.now, "metrics": merged})
    if look.harm:
        text = f"Conclusive evidence of harm at {label}: {look.summary}"
        failed = event(EventReason.METRIC_CHECK_FAILED, text, warning=True)
        return _harmed(ctx, new, look, label).then(failed)
    if look.verdict is MetricVerdict.FAIL:
        return _checked(ctx, status, replace(look, results=merged))
    if _held_for_evidence(new) and all(r.verdict is MetricVerdict.PASS for r in merged):
        text = f"Check passed at {label}: the comparisons became conclusive: {look.summary}"
        passed = event(EventReason.METRIC_CHECK_PASSED, text)
        why = f"Step {new.current_step} passed"
        if ctx.spec.steps.pause_at(new.canary_weight) is not None:
            return transitions.pause(ctx, new, why).then(passed)
        return transitions.advance(ctx, new, why).then(passed)
    if _quiet(ctx, status, look):
        # Nothing changed but numbers: no status write (one per look would cost thousands of
        # Canaries a write every few seconds each); the evidence is refreshed every
        # EVIDENCE_REFRESH. The next look still comes one period later.
        return Transition(
            status=status, reason=_step_reason(ctx, status), message=status.message,
            requeue_after=timing.next_wake(ctx, new),
        )
    return Transition(
        status=new, reason=_step_reason(ctx, new), message=status.message,
        requeue_after=timing.next_wake(ctx, new),
    )


def _quiet(ctx: Context, status: CanaryStatus, look: Check) -> bool:
    """Every looked-at gate has the verdict and outcome it had, and the recorded evidence is
    younger than EVIDENCE_REFRESH (or the look period, if longer)."""
    analysis = ctx.spec.analysis
    if analysis is None or status.looked_at is None:
        return False
    refresh = max(EVIDENCE_REFRESH, analysis.sequential.period())
    kept = {r.name: r for r in status.metrics}
    same = all(
        (old := kept.get(r.name)) is not None
        and (old.verdict, old.outcome) == (r.verdict, r.outcome)
        for r in look.results
    )
    return same and ctx.now - status.looked_at < refresh


def _held_for_evidence(status: CanaryStatus) -> bool:
    """The step's check came and held it (no pause step): a look may now end the hold. The
    check that passed the previous step and began this one has the step's start as its time:
    it held nothing (strictly later, or a step entered by a passing check would end at its
    first conclusive look instead of after its interval)."""
    checked, began = status.last_check_time, status.step_started_at
    return (
        status.paused_at is None
        and checked is not None
        and began is not None
        and checked > began
    )


def _every(ctx: Context) -> str:
    analysis = ctx.spec.analysis
    return "-" if analysis is None else analysis.sequential.every


def _gate_events(check: Check, label: str) -> list[EmitEvent]:
    traffic = check.request_count
    if traffic is not None and traffic.verdict is not MetricVerdict.PASS:
        # Nothing was judged: the gates' own no-data or error outcomes would only add noise.
        text = f"At {label}: {traffic.message}"
        return [event(EventReason.NOT_ENOUGH_TRAFFIC, text, warning=True)]
    found: list[EmitEvent] = []
    for result in check.results:
        text = f"{result.name} at {label}: {result.message} (query: {result.query[:300]})"
        if result.outcome is MetricOutcome.NO_DATA:
            found.append(event(EventReason.METRIC_NO_DATA, text, warning=True))
        elif result.outcome is MetricOutcome.ERROR:
            found.append(event(EventReason.METRIC_ERROR, text, warning=True))
    return found


# --- Promoting -------------------------------------------------------------------------------


def promoting(ctx: Context, status: CanaryStatus) -> Transition:
    """Succeeded once the route carries 100 % on the canary; until then write 100 % again
    (workload mode: `workload.promoting`)."""
    if ctx.spec.workload is not None:
        return workload.promoting(ctx, status)
    if not ctx.observations.route.attached:
        return route_hold.hold(ctx, status)
    if ctx.observations.route.canary_weight == status.canary_weight:
        return _promoted(ctx, status)
    return _promote_again(ctx, status)


def _promoted(ctx: Context, status: CanaryStatus) -> Transition:
    new = status.model_copy(update={"phase": Phase.SUCCEEDED})
    rewrite = ctx.spec.promotion.mode is PromotionMode.REWRITE
    text = f"Promoted {ctx.rollout(new)}: 100% of the traffic goes to the canary"
    if rewrite:
        text += f"; the managed rules now have {ctx.spec.canary} as their only backend"
    actions = (*((RewriteRoute(),) if rewrite else ()), event(EventReason.PROMOTED, text))
    return Transition(
        status=new, reason=ConditionReason.PROMOTED, message=text, actions=actions,
        notes=(text,),
    )


def _promote_again(ctx: Context, status: CanaryStatus) -> Transition:
    """The route does not carry 100 % yet: the promotion is applied again, not announced
    again."""
    new = transitions.promoting(status)
    again = Transition(
        status=new,
        reason=ConditionReason.PROMOTING,
        message=status.message or f"Promoting {ctx.rollout(new)}",
        actions=(SetWeights(weights.PROMOTED),),
        requeue_after=transitions.PROMOTION_RECHECK,
        notes=("the route does not carry 100% yet; applied again",),
    )
    return ownership.put_back(ctx, status, again)


# --- Succeeded -------------------------------------------------------------------------------


def succeeded(ctx: Context, status: CanaryStatus) -> Transition:
    """Finished: the route is left alone, but a Rewrite promotion whose route write failed or
    was cut short by a restart is completed."""
    route = ctx.observations.route
    promoted_in_full = route.attached and all(
        rule.stable == 0 and rule.canary > 0 for rule in route.rules
    )
    if ctx.spec.promotion.mode is PromotionMode.REWRITE and promoted_in_full:
        return idle(status).then(RewriteRoute(), note="finishing the Rewrite promotion")
    return idle(status)


# --- RollingBack -----------------------------------------------------------------------------


def rolling_back(ctx: Context, status: CanaryStatus) -> Transition:
    """RolledBack once the route no longer sends traffic to the canary (it shows 0 %, or it is
    gone or no longer holds the canary backend); until then write 0 % again. Never anything
    else: not a step, not a check, not a drift restore — and not held by an unusable route,
    since 0 % is always allowed."""
    route = ctx.observations.route
    if ctx.route_writable and route.canary_weight != weights.ROLLED_BACK:
        again = Transition(
            status=status,
            reason=kept_reason(status),
            message=status.message,
            actions=(SetWeights(weights.ROLLED_BACK),),
            requeue_after=transitions.ROLLBACK_RECHECK,
            notes=("the route does not show 0% on the canary yet; applied again",),
        )
        return ownership.put_back(ctx, status, again)
    return _rolled_back(ctx, status)


def _rolled_back(ctx: Context, status: CanaryStatus) -> Transition:
    new = status.model_copy(update={"phase": Phase.ROLLED_BACK})
    decided = status.message or f"Rolling back {ctx.rollout(new)}"
    workload = ctx.spec.workload
    again = (
        f"a new pod template of Deployment {workload.name} (e.g. `kubectl set image`)"
        if workload is not None
        else "a new spec.revision"
    )
    text = (
        f"{decided}. Done: the route sends nothing to {ctx.spec.canary}. Start again with "
        f"{again}, or request a retry (`canary retry NAME`)"
    )
    return Transition(
        status=new,
        reason=kept_reason(status),
        message=text,
        actions=(event(EventReason.ROLLED_BACK, text, warning=True),),
        notes=(text,),
    )


# --- RolledBack ------------------------------------------------------------------------------


def rolled_back(ctx: Context, status: CanaryStatus) -> Transition:
    """Finished: the route is left alone, but a canary put back on it is set to 0 % again (a
    second line of defence: RollingBack already confirmed it once)."""
    route = ctx.observations.route
    if not ctx.route_writable or route.canary_weight == weights.ROLLED_BACK:
        return idle(status)
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


# --- spec.paused, in every phase -------------------------------------------------------------


def paused_by_spec(ctx: Context, status: CanaryStatus) -> Transition:
    """spec.paused replaces the phase's handler: only an abort acts, and a decided rollback is
    finished; nothing else changes, not even drifted weights."""
    if status.phase is Phase.ROLLING_BACK:
        return ownership.unless_held(ctx, status, rolling_back)
    notices: list[EmitEvent] = []
    if RequestKind.ABORT in requests.pending(ctx.spec, status):
        result = requests.act(ctx, status, RequestKind.ABORT)
        if isinstance(result, requests.Ignored):
            status, notices = result.status, [result.notice]
        elif result is not None:
            return result
    if not status.phase.active:
        return idle(status).then(*notices)
    new = status.model_copy(update={"phase": Phase.PAUSED})
    text = (
        f"Paused by spec.paused at {ctx.step_label(new)}: the operator changes nothing "
        "until spec.paused is false"
    )
    if ctx.new_revision(status):
        text += f"; revision {ctx.spec.target_revision} will start then"
    was = status.condition("Paused")
    first = was is None or was.reason != ConditionReason.PAUSED_BY_SPEC or was.status != "True"
    return Transition(
        status=new,
        reason=ConditionReason.PAUSED_BY_SPEC,
        message=text,
        actions=(event(EventReason.PAUSED, text),) if first else (),
        notes=(text,),
    )
