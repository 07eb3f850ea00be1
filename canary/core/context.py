"""The inputs of one decision bundled together (`Context`), and the partial result each
handler and move returns (`Transition`) before `decide` turns it into a `Decision`.

Internal to `canary.core`; plain frozen values, no behaviour beyond small accessors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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

    def new_revision(self, status: CanaryStatus) -> bool:
        """The spec asks for another rollout than the one `status` describes."""
        return (
            self.spec.target_revision != status.revision
            or self.spec.canary != status.canary_backend
        )

    def rollout(self, status: CanaryStatus) -> str:
        """How messages name the rollout: `v2 (api-svc-v2:80)`, or just the backend."""
        backend = str(status.canary_backend or self.spec.canary)
        if status.revision in (None, backend):
            return backend
        return f"{status.revision} ({backend})"

    def step_label(self, status: CanaryStatus) -> str:
        total = len(weights.schedule(self.spec.steps))
        return f"step {status.current_step}/{total} ({status.canary_weight}%)"


@dataclass(frozen=True, kw_only=True)
class Transition:
    """A move's result: the new status (conditions not yet set), the reason of the phase (a
    ConditionReason value, or a kept one), its message, the actions, when to look again and
    the sentences for the log line."""

    status: CanaryStatus
    reason: str
    message: str
    actions: tuple[Action, ...] = ()
    requeue_after: timedelta | None = None
    notes: tuple[str, ...] = field(default=())

    def then(self, *actions: Action, note: str | None = None) -> Transition:
        """The same transition with `actions` prepended (they happen first) and a note added."""
        notes = self.notes if note is None else (note, *self.notes)
        return replace(self, actions=(*actions, *self.actions), notes=notes)


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


def idle(status: CanaryStatus) -> Transition:
    """Nothing to do: the status as it is, its phase reason kept."""
    return Transition(status=status, reason=kept_reason(status), message=status.message)
