"""A running step: restore drifted weights, end timed pauses, run the metric check when it is
due, count failed and inconclusive checks, and advance, pause or roll back on the result.

Pure; called by `canary.core.decide` for the Progressing and Paused (pause step) phases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from canary.api.conditions import ConditionReason
from canary.api.status import CanaryStatus, MetricOutcome, MetricVerdict, Phase
from canary.core import ownership, timing, transitions
from canary.core.context import Context, Outcome, event
from canary.core.decision import EmitEvent, EventReason, SetWeights
from canary.core.verdicts import Check, run_check


def _checks_apply(ctx: Context, status: CanaryStatus) -> bool:
    """Steps are always checked (without gates a check passes on time alone); a pause step only
    when there are gates to check."""
    return ctx.has_gates or status.paused_at is None


def check_is_due(ctx: Context, status: CanaryStatus) -> bool:
    """The step interval has elapsed since the step began or since its last check."""
    due = timing.check_due_at(ctx.spec, status)
    return due is not None and ctx.now >= due and _checks_apply(ctx, status)


def next_wake(ctx: Context, status: CanaryStatus) -> timedelta | None:
    """When something is next due: a check, or the end of a timed pause."""
    due = timing.check_due_at(ctx.spec, status) if _checks_apply(ctx, status) else None
    ends = timing.pause_ends_at(ctx.spec, status)
    return timing.earliest(timing.until(due, ctx.now), timing.until(ends, ctx.now))


def step(ctx: Context, status: CanaryStatus) -> Outcome:
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
    if check_is_due(ctx, status):
        return _checked(ctx, status, run_check(ctx.spec.analysis, ctx.observations, now=ctx.now))
    return _waiting(ctx, status)


def _restore(ctx: Context, status: CanaryStatus, observed: int | None) -> Outcome:
    seen = "mixed weights" if observed is None else f"canary weight {observed}%"
    text = (f"The route had {seen} instead of {status.canary_weight}%; restored it and "
            "restarted the step interval (edit the Canary, not the route, to steer a rollout)")
    new = status.model_copy(update={"step_started_at": ctx.now})
    return ownership.put_back(ctx, status, Outcome(
        new, _phase_reason(ctx, new), text,
        (SetWeights(status.canary_weight), event(EventReason.WEIGHTS_RESTORED, text, warning=True)),
        next_wake(ctx, new), (text,),
    ))


def _phase_reason(ctx: Context, status: CanaryStatus) -> ConditionReason:
    if status.paused_at is None:
        return ConditionReason.ROLLOUT_IN_PROGRESS
    declared = ctx.spec.steps.pause_at(status.canary_weight)
    if declared is not None and declared.until_promoted:
        return ConditionReason.AWAITING_PROMOTION
    return ConditionReason.PAUSE_STEP


def _waiting(ctx: Context, status: CanaryStatus) -> Outcome:
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
    return Outcome(status, _phase_reason(ctx, status), status.message or text, (),
                   next_wake(ctx, status), ())


def _last_check(status: CanaryStatus) -> str:
    """What the last check of this step found, so a quiet reconcile keeps the story."""
    checked, began = status.last_check_time, status.step_started_at
    if checked is None or began is None or checked < began or not status.metrics:
        return ""
    found = "; ".join(f"{r.name} {r.verdict}: {r.message}" for r in status.metrics)
    return f". Last check ({status.failed_checks} failed so far): {found}"


def _clock(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _checked(ctx: Context, status: CanaryStatus, check: Check) -> Outcome:
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
    if failed >= threshold and failed > status.failed_checks:
        why = f"{failed} failed checks reached failureThreshold {threshold} ({check.summary})"
        outcome = transitions.roll_back(
            ctx, new, reason=ConditionReason.METRIC_CHECKS_FAILED, why=why
        )
    elif check.verdict is MetricVerdict.PASS and new.paused_at is None:
        if ctx.spec.steps.pause_at(new.canary_weight) is not None:
            outcome = transitions.pause(ctx, new, f"Step {new.current_step} passed")
        else:
            outcome = transitions.advance(ctx, new, f"Step {new.current_step} passed")
    else:
        outcome = Outcome(new, _phase_reason(ctx, new), text, (), next_wake(ctx, new), (text,))
    return outcome.then(*events)


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


def phase_of_running(status: CanaryStatus) -> Phase:
    """The phase a started rollout returns to after a hold (resume, spec fixed)."""
    if status.current_step == 0:
        return Phase.PENDING
    return Phase.PAUSED if status.paused_at is not None else Phase.PROGRESSING
