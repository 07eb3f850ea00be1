"""The manual-request contract: which `spec.requests` values are new (not yet recorded in
`status.handledRequests`), in the order they are handled, and adopting values present at
creation so an old nonce copied into a new Canary never acts.

Pure: comparisons of spec and status, and the transition each request triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from canary.api.conditions import ConditionReason
from canary.api.control import RequestKind
from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus, HandledRequests, Phase
from canary.core import ownership, transitions
from canary.core.context import Context, Transition, event, kept_reason
from canary.core.decision import EmitEvent, EventReason, SetWeights

TAKE_BACK_RECHECK = timedelta(seconds=1)
ORDER = (RequestKind.ABORT, RequestKind.RETRY, RequestKind.PROMOTE_FULL, RequestKind.PROMOTE)


def pending(spec: CanarySpec, status: CanaryStatus) -> tuple[RequestKind, ...]:
    """Request kinds whose value in the spec is set and differs from the last handled one."""
    return tuple(
        kind
        for kind in ORDER
        if (nonce := spec.requests.get(kind)) is not None
        and nonce != status.handled_requests.get(kind)
    )


def is_first_reconcile(status: CanaryStatus) -> bool:
    return status.observed_generation == 0 and status.revision is None


def adopted(spec: CanarySpec) -> HandledRequests:
    """Every request value in `spec`, recorded as handled (used on the first reconcile)."""
    handled = HandledRequests()
    for kind in ORDER:
        handled = handled.with_handled(kind, spec.requests.get(kind))
    return handled


def mark_handled(status: CanaryStatus, kind: RequestKind, spec: CanarySpec) -> CanaryStatus:
    nonce = spec.requests.get(kind)
    return status.model_copy(
        update={"handled_requests": status.handled_requests.with_handled(kind, nonce)}
    )


@dataclass(frozen=True)
class Ignored:
    """A request that makes no sense in the current phase: recorded as handled, announced by
    an event, and otherwise without effect (the rollout carries on in the same decision)."""

    status: CanaryStatus
    notice: EmitEvent


def act(ctx: Context, status: CanaryStatus, kind: RequestKind) -> Transition | Ignored | None:
    """Act on one new request, or ignore it; None: it must wait.

    Abort acts in every unfinished phase but RollingBack (already under way); retry after a
    rollback (it waits while the rollback is still being written); promote and promoteFull
    while steps run or pause. Retry, promote and promoteFull wait while the route is not
    accepted or the rollout has not started. Anything else is recorded and ignored."""
    done = mark_handled(status, kind, ctx.spec)
    nonce = ctx.spec.requests.get(kind)
    phase, attached = status.phase, ctx.observations.route.attached
    steering = phase in (Phase.PROGRESSING, Phase.PAUSED)
    if kind is RequestKind.RETRY and ownership.holding(status):
        return _take_back(ctx, done, nonce) if ctx.route_writable else None
    if kind is RequestKind.RETRY and phase is Phase.ROLLING_BACK:
        return None  # acts once the rollback is complete
    if kind is RequestKind.ABORT and phase.active and phase is not Phase.ROLLING_BACK:
        why = f"Aborted by request {nonce!r}"
        return transitions.roll_back(ctx, done, reason=ConditionReason.ABORTED, why=why)
    if kind is RequestKind.RETRY and phase is Phase.ROLLED_BACK:
        if not attached:
            return None
        started = transitions.start(ctx, transitions.fresh(ctx, done))
        return started.then(event(EventReason.RETRIED, f"Retry requested ({nonce!r})"))
    if kind in (RequestKind.PROMOTE, RequestKind.PROMOTE_FULL) and (
        steering or phase is Phase.PENDING
    ):
        if not attached or phase is Phase.PENDING:
            return None
        why = f"{kind} requested ({nonce!r})"
        if kind is RequestKind.PROMOTE_FULL:
            return transitions.promote(ctx, done, why)
        return transitions.advance(ctx, done, why)
    text = f"Request {kind}={nonce!r} ignored: nothing to {kind} in phase {phase}"
    return Ignored(done, event(EventReason.REQUEST_IGNORED, text))


def _take_back(ctx: Context, status: CanaryStatus, nonce: str | None) -> Transition:
    """Retry while holding against another writer: write this Canary's weights again, with a
    fresh drift count."""
    held_by = status.drift.held_by if status.drift else None
    freed = status.model_copy(update={"drift": None})
    text = (
        f"Retry requested ({nonce!r}): took the weights of {ctx.spec.route_ref.name} back from "
        f"field manager {held_by!r} ({freed.canary_weight}% on the canary)"
    )
    actions = (SetWeights(freed.canary_weight), event(EventReason.RETRIED, text))
    return Transition(
        status=freed, reason=kept_reason(freed), message=text, actions=actions,
        requeue_after=TAKE_BACK_RECHECK, notes=(text,),
    )
