"""The inputs of one decision bundled together (`Context`), and the partial result each
transition returns (`Outcome`) before `decide` turns it into a `Decision`.

Internal to `canary.core`; plain frozen values, no behaviour beyond small accessors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from canary.api.conditions import ConditionReason
from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus
from canary.core import weights
from canary.core.decision import Action, EmitEvent, EventReason
from canary.core.observations import Observations


@dataclass(frozen=True)
class Context:
    """What one decision may look at: the spec, what was observed, and the time."""

    spec: CanarySpec
    observations: Observations
    now: datetime

    @property
    def interval(self) -> timedelta:
        return self.spec.steps.interval_length

    @property
    def has_gates(self) -> bool:
        """Whether there is anything to check at the end of a step."""
        analysis = self.spec.analysis
        return analysis is not None and (
            bool(analysis.metrics) or analysis.min_requests is not None
        )

    @property
    def route_writable(self) -> bool:
        """The route exists and has managed rules, so weights can be written to it."""
        route = self.observations.route
        return route.exists and bool(route.rules)

    def rollout(self, status: CanaryStatus) -> str:
        """How messages name the rollout: `v2 (api-svc-v2:80)`, or just the backend."""
        backend = str(status.canary_backend or self.spec.canary)
        if status.revision in (None, backend):
            return backend
        return f"{status.revision} ({backend})"

    def step_label(self, status: CanaryStatus) -> str:
        total = len(weights.schedule(self.spec.steps))
        return f"step {status.current_step}/{total} ({status.canary_weight}%)"


@dataclass(frozen=True)
class Outcome:
    """A transition's result: the new status (conditions not yet set), the actions, the reason
    of the phase (a ConditionReason value, or a kept one), and when to look again."""

    status: CanaryStatus
    reason: str
    message: str
    actions: tuple[Action, ...] = ()
    requeue_after: timedelta | None = None
    notes: tuple[str, ...] = field(default=())

    def then(self, *actions: Action, note: str | None = None) -> Outcome:
        """The same outcome with `actions` prepended (they happen first) and a note added."""
        notes = self.notes if note is None else (note, *self.notes)
        return Outcome(
            self.status, self.reason, self.message, (*actions, *self.actions),
            self.requeue_after, notes,
        )


EVENT_MESSAGE_LIMIT = 1024  # what events.k8s.io accepts in `note`


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (with an ellipsis), so a long upstream error or query
    can never make a status or event write fail validation."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event(reason: EventReason, message: str, *, warning: bool = False) -> EmitEvent:
    return EmitEvent("Warning" if warning else "Normal", reason, clip(message, EVENT_MESSAGE_LIMIT))


def kept_reason(status: CanaryStatus) -> str:
    """The reason of the phase in `status`, as last written in its Ready condition."""
    ready = status.condition("Ready")
    return ready.reason if ready is not None else ConditionReason.ROLLOUT_PENDING


def idle(status: CanaryStatus) -> Outcome:
    """Nothing to do: the status as it is, its phase reason kept."""
    return Outcome(status, kept_reason(status), status.message)
