"""When things are due: the next metric check of a step and the end of a timed pause, all
measured from times recorded in the status, so a restarted operator keeps the same schedule.

Pure date arithmetic; `now` always comes in as an argument (or as `Context.now`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus
from canary.core.context import Context


def normalise(now: datetime) -> datetime:
    """`now` in UTC, whole seconds (what the status stores). Naive datetimes are refused."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now.astimezone(UTC).replace(microsecond=0)


def check_due_at(spec: CanarySpec, status: CanaryStatus) -> datetime | None:
    """One step interval after the later of: the step's weights being applied, the last check."""
    if status.step_started_at is None:
        return None
    base = status.step_started_at
    if status.last_check_time is not None and status.last_check_time > base:
        base = status.last_check_time
    return base + spec.steps.interval_length


def pause_ends_at(spec: CanarySpec, status: CanaryStatus) -> datetime | None:
    """When the current timed pause ends (None outside a pause or for a manual one)."""
    if status.paused_at is None:
        return None
    pause = spec.steps.pause_at(status.canary_weight)
    if pause is None or pause.length is None:
        return None
    return status.paused_at + pause.length


def until(moment: datetime | None, now: datetime) -> timedelta | None:
    """Time left until `moment` (never negative); None when there is no such moment."""
    if moment is None:
        return None
    return max(moment - now, timedelta(0))


def earliest(*delays: timedelta | None) -> timedelta | None:
    present = [d for d in delays if d is not None]
    return min(present) if present else None


def look_due_at(spec: CanarySpec, status: CanaryStatus) -> datetime | None:
    """One look period (`analysis.sequential.every`) after the later of: the step's weights
    being applied, the last check, the last look; None without gates to look at."""
    analysis = spec.analysis
    if analysis is None or status.step_started_at is None:
        return None
    if not any(gate.sequential for gate in analysis.metrics):
        return None
    moments = (status.step_started_at, status.last_check_time, status.looked_at)
    return max(m for m in moments if m is not None) + analysis.sequential.period()


def look_is_due(ctx: Context, status: CanaryStatus) -> bool:
    """Comparison (and `failEarly`) gates are due for a look between the step's checks."""
    due = look_due_at(ctx.spec, status)
    return due is not None and ctx.now >= due


def check_is_due(ctx: Context, status: CanaryStatus) -> bool:
    """The step interval has elapsed since the step began or since its last check."""
    due = check_due_at(ctx.spec, status)
    return due is not None and ctx.now >= due and _checks_apply(ctx, status)


def next_wake(ctx: Context, status: CanaryStatus) -> timedelta | None:
    """When something is next due in a step: a check, a look, or the end of a timed pause."""
    due = check_due_at(ctx.spec, status) if _checks_apply(ctx, status) else None
    ends = pause_ends_at(ctx.spec, status)
    look = look_due_at(ctx.spec, status)
    return earliest(until(due, ctx.now), until(ends, ctx.now), until(look, ctx.now))


def _checks_apply(ctx: Context, status: CanaryStatus) -> bool:
    """Steps are always checked (without gates a check passes on time alone); a pause step only
    when there are gates to check."""
    return ctx.has_gates or status.paused_at is None
