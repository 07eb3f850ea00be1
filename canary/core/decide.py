"""`decide(spec, status, observations, now) -> Decision`: the whole rollout state machine in one
pure function, plus `needs_metrics` (should the reconciler query Prometheus now?) and
`reject_spec` (for a spec the operator cannot even parse).

`decide` reads as a table: the rules that hold in every phase, in a fixed order (its docstring
lists them), then the phase's own handler from `HANDLERS` (`canary.core.phases`), and last
`_finish`, which turns the handler's `Transition` into the `Decision`. docs/state-machine.md
follows the same order, with a section per handler under the same name.

No await, no clock, no logging, no I/O: the same inputs always give the same Decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from canary.api.conditions import ConditionReason
from canary.api.control import PromotionMode
from canary.api.spec import CanarySpec
from canary.api.status import MESSAGE_LIMIT, CanaryStatus, Phase
from canary.core import (
    ownership,
    phases,
    requests,
    route_hold,
    timing,
    transitions,
    weights,
    workload,
)
from canary.core.conditions import Situation, condition_events, derive
from canary.core.context import Context, Transition, clip, event, kept_reason
from canary.core.decision import Decision, EmitEvent, EventReason, RewriteRoute, SetWeights
from canary.core.observations import Observations, RouteObservation

Handler = Callable[[Context, CanaryStatus], Transition]

# The rollout's own move in each phase (Failed never gets here: see rule 4 of `decide`).
HANDLERS: Mapping[Phase, Handler] = MappingProxyType({
    Phase.PENDING: phases.pending,
    Phase.PROGRESSING: phases.running_step,
    Phase.PAUSED: phases.running_step,
    Phase.PROMOTING: phases.promoting,
    Phase.SUCCEEDED: phases.succeeded,
    Phase.ROLLING_BACK: phases.rolling_back,
    Phase.ROLLED_BACK: phases.rolled_back,
})


def decide(
    spec: CanarySpec,
    status: CanaryStatus,
    *,
    observations: Observations,
    now: datetime,
    generation: int,
) -> Decision:
    """The next move of the rollout described by `spec`, given its `status` and the world.

    In every phase, in this order (the first rule that decides ends the list):

    1. On the first reconcile, request values already in the spec are recorded as handled.
    2. A new revision naming the same backends as a `Weights` promotion that still carries
       100 % is an invalid spec (`SameBackendsAfterPromotion`): nothing moves.
    3. Another, older Canary owns the route's weights: hands off, nothing written or checked.
    4. Back where the rollout stood: Failed (the spec is valid again) and a Paused held by
       spec.paused that was just lifted (announced by `Resumed`) take the running phase again.
    5. spec.paused: `phases.paused_by_spec` instead of the phase's handler; rules 6 to 9 wait.
    6. A new revision (or canary backend): a fresh Pending rollout.
    7. New manual requests in the order abort, retry, promoteFull, promote: the first that
       acts decides; one that makes no sense in this phase is recorded and ignored.
    8. Held against another writer: hold until the route carries this Canary's weight again.
    9. The phase's handler: `HANDLERS[status.phase]`.
    """
    ctx = Context(spec, observations, timing.normalise(now))
    if requests.is_first_reconcile(status):
        status = status.model_copy(update={"handled_requests": requests.adopted(spec)})
    if _restarts_from_old_stable(ctx, status):
        reason = ConditionReason.SAME_BACKENDS_AFTER_PROMOTION
        return _invalid(ctx, status, reason, _same_backends_message(ctx, status), generation)
    if observations.owner is not None:
        move = ownership.owned_elsewhere(ctx, status, observations.owner)
        return _finish(ctx, status, move, generation=generation)
    resumed = _resumed(spec, status)
    status = _where_it_stood(ctx, status, resumed=resumed)
    move = phases.paused_by_spec(ctx, status) if spec.paused else _unpaused(ctx, status)
    if resumed:
        move = move.then(event(EventReason.RESUMED, "spec.paused is false: resumed"))
    return _finish(ctx, status, move, generation=generation)


class Sampling(StrEnum):
    """Which gates the reconciler samples before `decide`: all of them for a step's check, only
    those looked at between checks (comparisons, `failEarly` gates) for a look."""

    CHECK = "Check"
    LOOK = "Look"


def sampling_due(
    spec: CanarySpec,
    status: CanaryStatus,
    route: RouteObservation,
    now: datetime,
    *,
    owner: str | None = None,
) -> Sampling | None:
    """What `decide` at `now` would judge: query Prometheus only then (and pass the same `now`
    to `decide`)."""
    ctx = Context(spec, Observations(route=route), timing.normalise(now))
    running = status.phase in (Phase.PROGRESSING, Phase.PAUSED)
    if not (
        not spec.paused
        and owner is None
        and not ownership.holding(status)
        and running
        and ctx.has_gates
        and route.attached
        and not ctx.new_revision(status)
        and route.canary_weight == status.canary_weight
    ):
        return None
    if timing.check_is_due(ctx, status):
        return Sampling.CHECK
    return Sampling.LOOK if timing.look_is_due(ctx, status) else None


def looked_at(spec: CanarySpec) -> frozenset[str]:
    """The gates sampled at a look: comparisons and `failEarly` threshold gates."""
    analysis = spec.analysis
    return frozenset(() if analysis is None else (g.name for g in analysis.metrics if g.sequential))


def needs_metrics(
    spec: CanarySpec,
    status: CanaryStatus,
    route: RouteObservation,
    now: datetime,
    *,
    owner: str | None = None,
) -> bool:
    """True when `decide` at `now` would run a metric check or a look (see `sampling_due`)."""
    return sampling_due(spec, status, route, now, owner=owner) is not None


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
    move = Transition(status=new, reason=reason, message=text)
    return _decision(status, new, situation, move, timing.normalise(now), generation)


# --- rule 2: same backends after a Weights promotion -----------------------------------------


def _restarts_from_old_stable(ctx: Context, status: CanaryStatus) -> bool:
    """A new revision with the same canary backend as a `Weights` promotion that still carries
    100 %: its first step would send most traffic back to the old stable backend."""
    promotion = ctx.spec.promotion
    return (
        status.phase is Phase.SUCCEEDED
        and promotion.mode is PromotionMode.WEIGHTS
        and not promotion.restart_from_stable
        and ctx.new_revision(status)
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


def _invalid(
    ctx: Context, status: CanaryStatus, reason: ConditionReason, text: str, generation: int
) -> Decision:
    if status.phase.keeps_phase_when_invalid:
        # Report it, but never trade a rollback (or a finished rollout) for Failed: fixing the
        # spec would then resume steps on a canary that failed.
        move = Transition(status=status, reason=kept_reason(status), message=text, notes=(text,))
    else:
        new = status.model_copy(update={"phase": Phase.FAILED})
        move = Transition(status=new, reason=reason, message=text, notes=(text,))
    return _finish(ctx, status, move, generation=generation, invalid=(reason, text))


# --- rule 4: back where the rollout stood ----------------------------------------------------


def _resumed(spec: CanarySpec, status: CanaryStatus) -> bool:
    held = status.condition("Paused")
    return (
        not spec.paused
        and held is not None
        and held.status == "True"
        and held.reason == ConditionReason.PAUSED_BY_SPEC
    )


def _where_it_stood(ctx: Context, status: CanaryStatus, *, resumed: bool) -> CanaryStatus:
    if status.phase is Phase.FAILED:  # the spec was fixed: carry on where the rollout stood
        status = status.model_copy(update={"phase": _phase_of_running(status)})
        if status.phase is Phase.PROGRESSING:
            status = status.model_copy(update={"step_started_at": ctx.now})
    elif resumed and status.phase is Phase.PAUSED:
        status = status.model_copy(update={"phase": _phase_of_running(status)})
    return status


def _phase_of_running(status: CanaryStatus) -> Phase:
    """The phase a started rollout returns to after a hold (resume, spec fixed)."""
    if status.current_step == 0:
        return Phase.PENDING
    return Phase.PAUSED if status.paused_at is not None else Phase.PROGRESSING


# --- rules 6 to 9: not paused by the spec ----------------------------------------------------


def _unpaused(ctx: Context, status: CanaryStatus) -> Transition:
    move = _unpaused_move(ctx, status)
    if ctx.spec.workload is None:
        return move
    return workload.autoscaler_kept(ctx, workload.idle(ctx, move))


def _unpaused_move(ctx: Context, status: CanaryStatus) -> Transition:
    if ctx.spec.workload is not None and (held := workload.setup(ctx, status)) is not None:
        return held
    if ctx.new_revision(status):
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
    return ownership.unless_held(ctx, status, HANDLERS[status.phase]).then(*notices)


# --- the Decision ----------------------------------------------------------------------------


def _finish(
    ctx: Context,
    old: CanaryStatus,
    move: Transition,
    *,
    generation: int,
    invalid: tuple[str, str] | None = None,
) -> Decision:
    if not move.status.phase.active:
        problem = route_hold.kept_route(old)
    elif route_hold.settling(ctx, old) and not route_hold.overdue(ctx, move.status):
        problem = None
    else:
        problem = route_hold.route_problem(ctx)
    route_weight = _route_weight(ctx, move)
    changes: dict[str, object] = {"route_weight": route_weight}
    if ctx.observations.route.attached and move.status.gateway_lag_since is not None:
        changes["gateway_lag_since"] = None  # caught up (a running step restarted its interval)
    if any(isinstance(a, SetWeights | RewriteRoute) for a in move.actions):
        changes["route_generation"] = ctx.observations.route.generation
    new = move.status.model_copy(update=changes)
    situation = Situation(
        phase=new.phase,
        reason=move.reason,
        message=move.message,
        route_problem=problem,
        invalid=invalid,
        paused_by_spec=ctx.spec.paused,
        weights=ownership.sync_condition(ctx, new, route_weight),
        route_hints=route_hold.hints(ctx) if problem is None and new.phase.active else (),
    )
    return _decision(old, new, situation, move, ctx.now, generation)


def _route_weight(ctx: Context, move: Transition) -> int | None:
    """The canary weight the route carries once this decision's writes are made."""
    route = ctx.observations.route
    weight = route.canary_weight if ctx.route_writable else None
    for action in move.actions:
        if isinstance(action, SetWeights):
            weight = action.canary
        elif isinstance(action, RewriteRoute):
            weight = weights.PROMOTED
    return weight


def _decision(
    old: CanaryStatus,
    new: CanaryStatus,
    situation: Situation,
    move: Transition,
    now: datetime,
    generation: int,
) -> Decision:
    """The Decision: `new` with its conditions derived, then the move's actions followed by the
    events of conditions that just changed (the reconciler writes the status first)."""
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
        *move.actions,
        *condition_events(old, status, situation),
        *ownership.sync_events(old, status),
    )
    return Decision(actions, status, move.requeue_after, move.notes)
