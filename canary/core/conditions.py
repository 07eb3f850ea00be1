"""Derive the Canary's conditions from the phase, its reason, the route and the spec's validity,
changing `lastTransitionTime` only when a condition's status changes; and the events announcing
that RouteAccepted or InvalidSpec changed, and the route hints it newly carries.

Pure: returns new condition tuples and events; the time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from canary.api.conditions import Condition, ConditionReason, ConditionStatus, ConditionType
from canary.api.status import MESSAGE_LIMIT, CanaryStatus, Phase
from canary.core.context import clip, event
from canary.core.decision import EmitEvent, EventReason

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN
ORDER = tuple(ConditionType)
PAUSE_REASONS = frozenset(
    {ConditionReason.PAUSED_BY_SPEC, ConditionReason.PAUSE_STEP, ConditionReason.AWAITING_PROMOTION}
)


@dataclass(frozen=True, kw_only=True)
class Situation:
    """Everything the conditions are computed from."""

    phase: Phase
    reason: str  # the phase's reason
    message: str
    route_problem: tuple[str, str] | None  # (reason, message) while the route is not usable
    invalid: tuple[str, str] | None  # (reason, message) while the spec cannot be carried out
    paused_by_spec: bool
    weights: tuple[ConditionStatus, str, str] | None = None  # WeightsInSync (None: as it was)
    route_hints: tuple[str, ...] = ()  # what is worth knowing about the route, not holding it


def set_condition(
    conditions: tuple[Condition, ...],
    kind: ConditionType,
    *,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    generation: int,
) -> tuple[Condition, ...]:
    """`conditions` with `kind` set; its transition time moves only if its status changed."""
    return _apply(conditions, [(kind, status, reason, message)], now=now, generation=generation)


def _apply(
    conditions: tuple[Condition, ...],
    table: list[tuple[ConditionType, ConditionStatus, str, str]],
    *,
    now: datetime,
    generation: int,
) -> tuple[Condition, ...]:
    by_type = {c.type: c for c in conditions}
    for kind, status, reason, message in table:
        old = by_type.get(kind)
        since = old.last_transition_time if old is not None and old.status == status else now
        by_type[kind] = Condition(
            type=kind, status=status, reason=reason, message=message,
            last_transition_time=since, observed_generation=generation,
        )
    ours = [by_type.pop(kind) for kind in ORDER if kind in by_type]
    return (*ours, *by_type.values())


ACCEPTED_MESSAGE = "The route is accepted and contains both backends."
HINTS_HEADING = "Worth fixing, though it does not hold the rollout:"


def accepted_message(hints: tuple[str, ...]) -> str:
    """RouteAccepted=True's message: accepted, then each hint as an addendum (clipped)."""
    if not hints:
        return ACCEPTED_MESSAGE
    listed = " ".join(f"({n}) {hint}" for n, hint in enumerate(hints, start=1))
    return clip(f"{ACCEPTED_MESSAGE} {HINTS_HEADING} {listed}", MESSAGE_LIMIT)


def derive(
    conditions: tuple[Condition, ...], situation: Situation, *, now: datetime, generation: int
) -> tuple[Condition, ...]:
    """Every condition, from the situation."""
    s, phase, reason, message = situation, situation.phase, situation.reason, situation.message
    table: list[tuple[ConditionType, ConditionStatus, str, str]] = []
    finished_badly = phase in (Phase.ROLLED_BACK, Phase.FAILED)
    ready = T if phase is Phase.SUCCEEDED else F if finished_badly else U
    table.append((ConditionType.READY, ready, reason, message))
    busy = phase in (Phase.PENDING, Phase.PROGRESSING, Phase.PROMOTING, Phase.ROLLING_BACK)
    table.append((ConditionType.PROGRESSING, T if busy else F, reason, message))
    table.append((ConditionType.PROMOTED, T if phase is Phase.SUCCEEDED else F, reason, message))
    rolled_back = T if phase is Phase.ROLLED_BACK else F
    table.append((ConditionType.ROLLED_BACK, rolled_back, reason, message))
    if phase is Phase.PAUSED or (s.paused_by_spec and not phase.active):
        why = reason if phase is Phase.PAUSED else ConditionReason.PAUSED_BY_SPEC
        text = message if phase is Phase.PAUSED else (
            "spec.paused is true: no new rollout starts until it is set to false"
        )
        table.append((ConditionType.PAUSED, T, why, text))
    else:
        table.append((ConditionType.PAUSED, F, ConditionReason.NOT_PAUSED, "Not paused."))
    if s.route_problem is not None:
        table.append((ConditionType.ROUTE_ACCEPTED, F, *s.route_problem))
    else:
        table.append((ConditionType.ROUTE_ACCEPTED, T, ConditionReason.ACCEPTED,
                      accepted_message(s.route_hints)))
    if s.invalid is not None:
        table.append((ConditionType.INVALID_SPEC, T, *s.invalid))
    else:
        table.append((ConditionType.INVALID_SPEC, F, ConditionReason.SPEC_VALID,
                      "The spec can be carried out."))
    if s.weights is not None:
        table.append((ConditionType.WEIGHTS_IN_SYNC, *s.weights))
    return _apply(conditions, table, now=now, generation=generation)


def condition_events(
    old: CanaryStatus, new: CanaryStatus, situation: Situation
) -> tuple[EmitEvent, ...]:
    """Events for conditions that just changed: route accepted or not, spec invalid."""
    found: list[EmitEvent] = []
    was, now = old.condition("RouteAccepted"), new.condition("RouteAccepted")
    if now is not None and (was is None or (was.status, was.reason) != (now.status, now.reason)):
        if now.status == "False" and new.phase.active:
            found.append(event(EventReason.ROUTE_NOT_ACCEPTED, now.message, warning=True))
        elif now.status == "True" and was is not None:
            found.append(event(EventReason.ROUTE_ACCEPTED, now.message))
    found += hint_events(was, now, situation.route_hints)
    if situation.invalid is not None:
        was_invalid = old.condition("InvalidSpec")
        if was_invalid is None or was_invalid.status != "True":
            found.append(event(EventReason.INVALID_SPEC, situation.invalid[1], warning=True))
    return tuple(found)


def hint_events(
    was: Condition | None, now: Condition | None, hints: tuple[str, ...]
) -> list[EmitEvent]:
    """A `RouteHint` Warning for each hint the RouteAccepted=True message just gained: once per
    distinct hint, since the condition carries the hints already told (not every reconcile)."""
    if now is None or now.status != "True" or (was is not None and was.message == now.message):
        return []
    told = was.message if was is not None and was.status == "True" else ""
    return [event(EventReason.ROUTE_HINT, hint, warning=True) for hint in hints if hint not in told]
