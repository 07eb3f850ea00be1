"""`decide(spec, status, observations, now) -> Decision`: the whole rollout state machine in one
pure function, plus `needs_metrics` (should the reconciler query Prometheus now?) and
`reject_spec` (for a spec the operator cannot even parse). docs/state-machine.md describes it.

No await, no clock, no logging, no I/O: the same inputs always give the same Decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from canary.api.conditions import ConditionReason
from canary.api.control import PromotionMode, RequestKind
from canary.api.route import RouteKind
from canary.api.spec import CanarySpec
from canary.api.status import MESSAGE_LIMIT, CanaryStatus, Phase
from canary.core import attachment, ownership, progress, requests, timing, transitions, weights
from canary.core.conditions import Situation, derive
from canary.core.context import Context, Outcome, clip, event, idle, kept_reason
from canary.core.decision import Decision, EmitEvent, EventReason, RewriteRoute, SetWeights
from canary.core.observations import Observations, RouteObservation

SUPPORTED_ROUTE_KINDS = frozenset({RouteKind.HTTP_ROUTE})


def decide(
    spec: CanarySpec,
    status: CanaryStatus,
    *,
    observations: Observations,
    now: datetime,
    generation: int,
) -> Decision:
    """The next move of the rollout described by `spec`, given its `status` and the world."""
    ctx = Context(spec, observations, timing.normalise(now))
    if requests.is_first_reconcile(status):
        status = status.model_copy(update={"handled_requests": requests.adopted(spec)})
    if spec.route_ref.kind not in SUPPORTED_ROUTE_KINDS:
        message = (
            f"routeRef.kind {spec.route_ref.kind} is not supported by this operator "
            "yet: reference an HTTPRoute. Traffic is left as it is."
        )
        return _invalid(ctx, status, ConditionReason.UNSUPPORTED_ROUTE_KIND, message, generation)
    if _restarts_from_old_stable(ctx, status):
        reason = ConditionReason.SAME_BACKENDS_AFTER_PROMOTION
        return _invalid(ctx, status, reason, _same_backends_message(ctx, status), generation)
    if observations.owner is not None:  # another Canary steers these weights: hands off
        outcome = ownership.owned_elsewhere(ctx, status, observations.owner)
        return _finish(ctx, status, outcome, generation=generation)
    resumed = _resumed(spec, status)
    if status.phase is Phase.FAILED:  # the spec was fixed: carry on where the rollout stood
        status = status.model_copy(update={"phase": progress.phase_of_running(status)})
        if status.phase is Phase.PROGRESSING:
            status = status.model_copy(update={"step_started_at": ctx.now})
    elif resumed and status.phase is Phase.PAUSED:
        status = status.model_copy(update={"phase": progress.phase_of_running(status)})
    outcome = _paused(ctx, status) if spec.paused else _running(ctx, status)
    if resumed:
        outcome = outcome.then(event(EventReason.RESUMED, "spec.paused is false: resumed"))
    return _finish(ctx, status, outcome, generation=generation)


def needs_metrics(
    spec: CanarySpec,
    status: CanaryStatus,
    route: RouteObservation,
    now: datetime,
    *,
    owner: str | None = None,
) -> bool:
    """True when `decide` at `now` would run a metric check: query Prometheus only then (and
    pass the same `now` to `decide`)."""
    ctx = Context(spec, Observations(route=route), timing.normalise(now))
    running = status.phase in (Phase.PROGRESSING, Phase.PAUSED)
    return (
        not spec.paused
        and owner is None
        and not ownership.holding(status)
        and running
        and ctx.has_gates
        and route.attached
        and not _new_revision(spec, status)
        and route.canary_weight == status.canary_weight
        and progress.check_is_due(ctx, status)
    )


def reject_spec(
    status: CanaryStatus,
    *,
    problem: str,
    now: datetime,
    generation: int,
    why: ConditionReason = ConditionReason.SPEC_REJECTED,
) -> Decision:
    """The Decision for a Canary whose spec the operator cannot act on (it does not parse, a
    query cannot be rendered, no router drives its route kind): phase Failed, InvalidSpec=True
    (reason `why`) with `problem` as the message, traffic left as it is."""
    text = f"The operator cannot act on this spec: {problem}. Fix it; traffic is left as it is."
    phase = status.phase if status.phase.keeps_phase_when_invalid else Phase.FAILED
    reason = kept_reason(status) if phase is status.phase else why
    new = status.model_copy(update={"phase": phase, "observed_generation": generation})
    situation = Situation(
        phase=phase,
        reason=reason,
        message=text,
        route_problem=None,
        invalid=(why, text),
        paused_by_spec=False,
    )
    return _decision(
        status, new, situation, Outcome(new, reason, text), timing.normalise(now), generation
    )


def _invalid(
    ctx: Context, status: CanaryStatus, reason: ConditionReason, text: str, generation: int
) -> Decision:
    if status.phase.keeps_phase_when_invalid:
        # Report it, but never trade a rollback (or a finished rollout) for Failed: fixing the
        # spec would then resume steps on a canary that failed.
        outcome = Outcome(status, kept_reason(status), text, (), None, (text,))
    else:
        new = status.model_copy(update={"phase": Phase.FAILED})
        outcome = Outcome(new, reason, text, (), None, (text,))
    return _finish(ctx, status, outcome, generation=generation, invalid=(reason, text))


def _resumed(spec: CanarySpec, status: CanaryStatus) -> bool:
    held = status.condition("Paused")
    return (
        not spec.paused
        and held is not None
        and held.status == "True"
        and held.reason == ConditionReason.PAUSED_BY_SPEC
    )


def _new_revision(spec: CanarySpec, status: CanaryStatus) -> bool:
    return spec.target_revision != status.revision or spec.canary != status.canary_backend


def _restarts_from_old_stable(ctx: Context, status: CanaryStatus) -> bool:
    """A new revision with the same canary backend as a `Weights` promotion that still carries
    100 %: its first step would send most traffic back to the old stable backend."""
    promotion = ctx.spec.promotion
    return (
        status.phase is Phase.SUCCEEDED
        and promotion.mode is PromotionMode.WEIGHTS
        and not promotion.restart_from_stable
        and _new_revision(ctx.spec, status)
        and ctx.spec.canary == status.canary_backend
        and ctx.observations.route.canary_weight == weights.PROMOTED
    )


def _same_backends_message(ctx: Context, status: CanaryStatus) -> str:
    spec = ctx.spec
    first = weights.schedule(spec.steps)[0]
    return (
        f"Revision {spec.target_revision} names the same backends as revision "
        f"{status.revision}, which was promoted by weights: {spec.canary} already carries 100%, "
        f"so its first step ({first}%) would send {100 - first}% back to {spec.stable}, the old "
        f"version. Point spec.canary at the new version's Service (and spec.stable at "
        f"{spec.canary}), or set spec.promotion.restartFromStable: true to roll out from "
        f"{spec.stable} again. Traffic is left as it is"
    )


def _paused(ctx: Context, status: CanaryStatus) -> Outcome:
    """spec.paused: only an abort acts; nothing else changes, not even drifted weights."""
    if status.phase is Phase.ROLLING_BACK:  # a decided rollback is finished even when paused
        return _unless_held(ctx, status, transitions.continue_rollback)
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
    if _new_revision(ctx.spec, status):
        text += f"; revision {ctx.spec.target_revision} will start then"
    was = status.condition("Paused")
    first = was is None or was.reason != ConditionReason.PAUSED_BY_SPEC or was.status != "True"
    actions = (event(EventReason.PAUSED, text),) if first else ()
    return Outcome(new, ConditionReason.PAUSED_BY_SPEC, text, actions, None, (text,))


def _running(ctx: Context, status: CanaryStatus) -> Outcome:
    if _new_revision(ctx.spec, status):
        status = transitions.fresh(ctx, status)
    notices: list[EmitEvent] = []
    for kind in requests.pending(ctx.spec, status):
        result = requests.act(ctx, status, kind)
        if isinstance(result, requests.Ignored):
            status = result.status
            notices.append(result.notice)
        elif result is not None:
            if requests.pending(ctx.spec, result.status):  # handle the next one right away
                result = replace(result, requeue_after=timedelta(0))
            return result.then(*notices)
    return _move(ctx, status).then(*notices)


def _unless_held(
    ctx: Context, status: CanaryStatus, move: Callable[[Context, CanaryStatus], Outcome]
) -> Outcome:
    """`move`, unless the Canary holds against another writer and the route still does not
    carry its weights."""
    if ownership.holding(status):
        freed = ownership.released(ctx, status)
        if freed is None:
            return ownership.hold(ctx, status)
        status = freed
    return move(ctx, status)


def _move(ctx: Context, status: CanaryStatus) -> Outcome:
    """The rollout's own next move, once no request acts."""
    return _unless_held(ctx, status, _own_move)


def _own_move(ctx: Context, status: CanaryStatus) -> Outcome:
    if status.phase is Phase.ROLLING_BACK:  # before the route check: 0 % is always allowed
        return transitions.continue_rollback(ctx, status)
    if not status.phase.active:
        return transitions.keep_final(ctx, status)
    if not ctx.observations.route.attached:
        return attachment.hold(ctx, status)
    if status.phase is Phase.PENDING:
        return transitions.start(ctx, status)
    if status.phase is Phase.PROMOTING:
        if ctx.observations.route.canary_weight == status.canary_weight:
            return transitions.finish_promotion(ctx, status)
        return transitions.promote(ctx, status, "", announce=False)
    return progress.step(ctx, status)


def _finish(
    ctx: Context,
    old: CanaryStatus,
    outcome: Outcome,
    *,
    generation: int,
    invalid: tuple[str, str] | None = None,
) -> Decision:
    if not outcome.status.phase.active:
        problem = attachment.kept_route(old)
    elif attachment.settling(ctx, old):
        problem = None
    else:
        problem = attachment.route_problem(ctx)
    route_weight = _route_weight(ctx, outcome)
    changes: dict[str, object] = {"route_weight": route_weight}
    if any(isinstance(a, SetWeights | RewriteRoute) for a in outcome.actions):
        changes["route_generation"] = ctx.observations.route.generation
    new = outcome.status.model_copy(update=changes)
    situation = Situation(
        phase=new.phase,
        reason=outcome.reason,
        message=outcome.message,
        route_problem=problem,
        invalid=invalid,
        paused_by_spec=ctx.spec.paused,
        weights=ownership.sync_condition(ctx, new, route_weight),
    )
    return _decision(old, new, situation, outcome, ctx.now, generation)


def _route_weight(ctx: Context, outcome: Outcome) -> int | None:
    """The canary weight the route carries once this decision's writes are made."""
    route = ctx.observations.route
    weight = route.canary_weight if ctx.route_writable else None
    for action in outcome.actions:
        if isinstance(action, SetWeights):
            weight = action.canary
        elif isinstance(action, RewriteRoute):
            weight = weights.PROMOTED
    return weight


def _decision(
    old: CanaryStatus,
    new: CanaryStatus,
    situation: Situation,
    outcome: Outcome,
    now: datetime,
    generation: int,
) -> Decision:
    situation = replace(situation, message=clip(situation.message, MESSAGE_LIMIT))
    conditions = derive(new.conditions, situation, now=now, generation=generation)
    status = new.model_copy(
        update={
            "conditions": conditions,
            "observed_generation": generation,
            "message": situation.message,
        }
    )
    actions = (
        *outcome.actions,
        *attachment.condition_events(old, status, situation),
        *ownership.sync_events(old, status),
    )
    return Decision(actions, status, outcome.requeue_after, outcome.notes)
