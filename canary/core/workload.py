"""Workload mode's release flow: the moves around the traffic rollout when a Canary names a
Deployment (docs/workloads.md).

- `setup` (a rule before every phase): the Deployment must exist and be manageable; what the
  operator owns is created; the first time, the running version becomes the primary, with no
  traffic move.
- `pending`: a new pod template waits, with no traffic, until the canary is ready (within the
  progress deadline), then the first step starts as in any rollout.
- `promote` / `promoting`: the template is copied to the primary, the primary rolls out, 100 %
  goes back to it, then the canary is scaled to zero.
- `idle`: a finished or rolled-back rollout keeps the canary at zero replicas.

Every move is read off the observed Deployments and the route, so an operator killed at any
stage resumes where the world stands, and traffic never goes to a version that is not ready.
Pure functions of (context, status).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from canary.api.conditions import ConditionReason
from canary.api.status import CanaryStatus, Phase
from canary.api.workload import WorkloadRef
from canary.core import route_hold, transitions, weights
from canary.core.context import Context, Transition, event
from canary.core.decision import (
    EnsureWorkload,
    EventReason,
    PromoteTemplate,
    ScaleWorkload,
    SetWeights,
)
from canary.core.observations import DeploymentState, WorkloadObservation
from canary.core.timing import until

WAIT = transitions.PROMOTION_RECHECK  # how soon to look again while a Deployment rolls out


def _ref(ctx: Context) -> WorkloadRef:
    workload = ctx.spec.workload
    assert workload is not None
    return workload


def _seen(ctx: Context) -> WorkloadObservation:
    seen = ctx.observations.workload
    return seen if seen is not None else WorkloadObservation(DeploymentState(), DeploymentState())


_recorded = transitions.recorded_workload
_with = transitions.with_workload


def replicas(ctx: Context, status: CanaryStatus) -> int:
    """The replicas the primary runs and the canary gets during a rollout: recorded from the
    Deployment before the operator first scaled it to zero (at least one)."""
    recorded = _recorded(status).replicas
    if recorded is not None and recorded > 0:
        return recorded
    return max(1, _seen(ctx).source.replicas)


# --- setup: a rule before every phase --------------------------------------------------------


def setup(ctx: Context, status: CanaryStatus) -> Transition | None:
    """What must hold before any phase can act in workload mode; None when it holds."""
    ref, seen = _ref(ctx), _seen(ctx)
    problem = seen.source.problem or seen.primary.problem  # e.g. workload mode is off
    if problem:
        return _held(status, ConditionReason.WORKLOAD_NOT_MANAGEABLE, problem)
    if ctx.observations.workload is None or not seen.source.exists:
        text = (f"Deployment {ref.name} does not exist in this namespace: create it, or fix "
                "spec.workload.name. Traffic is left as it is")
        return _held(status, ConditionReason.WORKLOAD_NOT_FOUND, text)
    if not seen.primary.exists or not seen.services:
        return _create(ctx, status)
    if _recorded(status).primary_revision is None:
        return _initialise(ctx, status)
    return None


def _held(status: CanaryStatus, reason: ConditionReason, text: str) -> Transition:
    if status.message == text:  # said already: no new event, no status write
        return Transition(status=status, reason=reason, message=text, requeue_after=None)
    return Transition(
        status=status, reason=reason, message=text,
        actions=(event(EventReason.WORKLOAD_PROBLEM, text, warning=True),), notes=(text,),
    )


def _create(ctx: Context, status: CanaryStatus) -> Transition:
    ref = _ref(ctx)
    count = replicas(ctx, status)
    new = _with(status, replicas=count, waiting_since=_recorded(status).waiting_since or ctx.now)
    text = (f"Creating what workload mode owns: Deployment {ref.primary} ({count} replicas, the "
            f"pod template of {ref.name}) and the Services {ref.primary} and {ref.canary}")
    return Transition(
        status=new, reason=ConditionReason.WORKLOAD_INITIALIZING, message=text,
        actions=(EnsureWorkload(count),), requeue_after=WAIT, notes=(text,),
    )


def _initialise(ctx: Context, status: CanaryStatus) -> Transition:
    """The first time: the running version becomes the primary; nothing else moves."""
    ref, seen = _ref(ctx), _seen(ctx)
    if not seen.primary_ready:
        text = (f"Waiting for {ref.primary} to run the current pod template of {ref.name} "
                f"({seen.primary.ready}/{seen.primary.replicas} ready); traffic is left as it is")
        return Transition(
            status=status, reason=ConditionReason.WORKLOAD_INITIALIZING, message=text,
            requeue_after=WAIT, notes=(text,),
        )
    revision = seen.primary.revision
    new = _with(
        status, primary_revision=revision, canary_revision=revision,
        images=seen.source.images, waiting_since=None,
    ).model_copy(update={
        "phase": Phase.SUCCEEDED, "revision": ctx.spec.target_revision,
        "canary_backend": ctx.spec.canary, "canary_weight": weights.ROLLED_BACK,
        "stable_weight": 100,
    })
    text = (f"Initialised: {ref.primary} runs {ref.name}'s current pod template ({revision}); "
            f"{ref.name} is scaled to zero until its next pod template once the route sends "
            f"to {ref.primary} and {ref.canary}")
    return Transition(
        status=new, reason=ConditionReason.PROMOTED, message=text,
        actions=(event(EventReason.WORKLOAD_INITIALIZED, text),), notes=(text,),
    )


# --- Pending: wait, with no traffic, for the canary ------------------------------------------


def pending(ctx: Context, status: CanaryStatus) -> Transition:
    """Scale the canary up and wait until it is ready, with no traffic on it; then start the
    first step. Past the progress deadline: roll back."""
    ref, seen = _ref(ctx), _seen(ctx)
    source = seen.source
    since = _recorded(status).waiting_since or ctx.now
    count = replicas(ctx, status)
    status = _with(status, waiting_since=since, canary_revision=source.revision,
                   images=source.images, replicas=count)
    route = ctx.observations.route
    if ctx.route_writable and route.canary_weight not in (None, weights.ROLLED_BACK):
        text = f"New pod template {source.revision}: no traffic to {ref.canary} until it is ready"
        return Transition(
            status=status, reason=ConditionReason.ROLLOUT_PENDING, message=text,
            actions=(SetWeights(weights.ROLLED_BACK),), requeue_after=WAIT, notes=(text,),
        )
    if seen.canary_ready and source.revision == ctx.spec.target_revision:
        started = transitions.start(ctx, _with(status, waiting_since=None))
        if not route.attached:
            return route_hold.hold(ctx, _with(status, waiting_since=None))
        return started
    deadline = since + ref.deadline()
    if ctx.now >= deadline:
        why = (f"{ref.name} ({source.revision}) was not ready within progressDeadline "
               f"{ref.progress_deadline} ({source.ready}/{count} ready)")
        return transitions.roll_back(
            ctx, _with(status, waiting_since=None),
            reason=ConditionReason.PROGRESS_DEADLINE_EXCEEDED, why=why,
        ).then(ScaleWorkload(0))
    scale = () if source.replicas == count else (ScaleWorkload(count),)
    text = (f"Waiting for {ref.name} to run pod template {source.revision} "
            f"({source.ready}/{count} ready; deadline {_clock(deadline)})")
    return Transition(
        status=status, reason=ConditionReason.ROLLOUT_PENDING,
        message=status.message if scale == () and status.message.startswith("Waiting for")
        else text,
        actions=scale, requeue_after=min(WAIT, until(deadline, ctx.now) or WAIT),
        notes=(text,),
    )


# --- Promoting: the template goes to the primary, then the traffic ---------------------------
# (`transitions.promote` starts it: every step passed, or a promoteFull request)


def promoting(ctx: Context, status: CanaryStatus) -> Transition:
    """Template to the primary, primary ready, 100 % to the primary, canary to zero:
    Succeeded. Each stage is read off the world, so a restart resumes at the right one."""
    ref, seen = _ref(ctx), _seen(ctx)
    revision = str(status.revision)
    if seen.primary.revision != revision:
        return Transition(
            status=status, reason=ConditionReason.PROMOTING, message=status.message,
            actions=(PromoteTemplate(revision),), requeue_after=WAIT,
            notes=(f"copying pod template {revision} to {ref.primary}",),
        )
    if not seen.primary_ready:
        text = (f"Promoting {ctx.rollout(status)}: waiting for {ref.primary} to run it "
                f"({seen.primary.ready}/{seen.primary.replicas} ready); the traffic stays at "
                f"{status.canary_weight}% on {ref.canary} meanwhile")
        return Transition(status=status, reason=ConditionReason.PROMOTING, message=text,
                          requeue_after=WAIT, notes=(text,))
    back = status.model_copy(update={"canary_weight": weights.ROLLED_BACK, "stable_weight": 100})
    if ctx.route_writable and ctx.observations.route.canary_weight != weights.ROLLED_BACK:
        text = f"Promoting {ctx.rollout(status)}: {ref.primary} runs it; 100% back to it"
        return Transition(status=back, reason=ConditionReason.PROMOTING, message=text,
                          actions=(SetWeights(weights.ROLLED_BACK),), requeue_after=WAIT,
                          notes=(text,))
    done = _with(back, primary_revision=revision, waiting_since=None).model_copy(
        update={"phase": Phase.SUCCEEDED}
    )
    text = (f"Promoted {ctx.rollout(done)}: {ref.primary} runs it and serves 100% of the "
            f"traffic; {ref.name} is scaled to zero")
    return Transition(
        status=done, reason=ConditionReason.PROMOTED, message=text,
        actions=(ScaleWorkload(0), event(EventReason.PROMOTED, text)), notes=(text,),
    )


# --- in every phase: the primary's HPA copy follows the user's HPA ---------------------------


def autoscaler_kept(ctx: Context, move: Transition) -> Transition:
    """With `autoscalerRef`, the primary's HPA copy is created again if it was deleted, and
    copied again when the user's HPA changed (min/max replicas, metrics, behavior): an
    `EnsureWorkload` before whatever the phase decided, which it leaves as it is."""
    seen = ctx.observations.workload
    ensuring = any(isinstance(a, EnsureWorkload) for a in move.actions)
    if seen is None or seen.autoscaler_in_line or seen.source.problem or ensuring:
        return move
    ref = _ref(ctx)
    assert ref.autoscaler_ref is not None  # the controller reports no copy to keep without it
    note = (f"HorizontalPodAutoscaler {ref.primary} copied again from "
            f"{ref.autoscaler_ref.name}")
    return move.then(EnsureWorkload(replicas(ctx, move.status)), note=note)


# --- Succeeded, RolledBack: the canary stays at zero -----------------------------------------


def idle(ctx: Context, move: Transition) -> Transition:
    """A finished rollout (promoted, or rolled back once the route shows 0 %) scales the canary
    to zero, once — only while the route's managed rules send to the operator's two Services
    with 0 % on the canary: before the route is migrated, the Deployment's pods may still be
    what serves the traffic (through the user's own Service), and scaling them down would be
    an outage."""
    new, seen = move.status, _seen(ctx)
    finished = new.phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK)
    route = ctx.observations.route
    route_clear = route.attached and route.canary_weight == weights.ROLLED_BACK
    scaling = any(isinstance(a, ScaleWorkload) and not a.primary for a in move.actions)
    if not (finished and route_clear and seen.source.replicas > 0 and not scaling):
        return move
    ref, wanted = _ref(ctx), seen.source.replicas
    recorded = _recorded(new).replicas
    if recorded is None or wanted == recorded or ref.autoscaler_ref is not None:
        return move.then(ScaleWorkload(0), note=f"{ref.name} scaled to zero")
    # Someone scaled the Deployment between releases (`kubectl scale`): the primary, which
    # serves its traffic, follows (an HPA copy scales the primary on its own instead).
    followed = replace(move, status=_with(new, replicas=wanted))
    return followed.then(
        ScaleWorkload(wanted, primary=True), ScaleWorkload(0),
        note=f"{ref.name} was scaled to {wanted}: {ref.primary} follows; {ref.name} to zero",
    )


def _clock(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
