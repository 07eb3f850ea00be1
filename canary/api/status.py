"""The observed state of a Canary: phase, step, weights, checks and the last result of every
metric. All rollout progress lives here, which is what makes the operator restart-safe.

Written only by the operator, once per reconcile; computed by `canary.core.decide`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from canary.api.conditions import Condition
from canary.api.control import RequestKind
from canary.api.model import ApiModel
from canary.api.results import (
    MESSAGE_LIMIT,
    QUERY_LIMIT,
    BackendSamples,
    ComparisonEvidence,
    ComparisonKind,
    MetricOutcome,
    MetricResult,
    MetricVerdict,
)
from canary.api.route import BackendRef
from canary.api.workload import WorkloadStatus

# The metric result types are re-exported: they are part of the status.
__all__ = [
    "MESSAGE_LIMIT", "PHASES", "QUERY_LIMIT", "BackendSamples", "CanaryStatus",
    "ComparisonEvidence", "ComparisonKind", "HandledRequests", "MetricOutcome",
    "MetricResult", "MetricVerdict", "Phase",
]

class Phase(StrEnum):
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTING = "Promoting"
    SUCCEEDED = "Succeeded"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"

    @property
    def active(self) -> bool:
        """A rollout is under way (not finished)."""
        return self in (
            Phase.PENDING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK
        )

    @property
    def keeps_phase_when_invalid(self) -> bool:
        """A rollback under way or a finished rollout: an invalid spec is reported, but it does
        not replace this phase (a fixed spec must never resume steps on a failed canary)."""
        return self in (Phase.ROLLING_BACK, Phase.ROLLED_BACK, Phase.SUCCEEDED)


PHASES: dict[Phase, str] = {
    Phase.PENDING: "A rollout was asked for (new Canary, new revision, retry) and has not "
    "started: no weight is shifted yet. Usually waiting for the route (see RouteAccepted).",
    Phase.PROGRESSING: "Shifting traffic step by step and checking the metrics after each step.",
    Phase.PAUSED: "Held: by `spec.paused` (nothing changes), or by a pause step (checks go on).",
    Phase.PROMOTING: "Every step passed (or promoteFull was requested): 100 % goes to the "
    "canary; becomes Succeeded once the route shows it.",
    Phase.SUCCEEDED: "The revision is promoted. Final until a new revision.",
    Phase.ROLLING_BACK: "A rollback is decided (failed checks or an abort) and recorded: 100 % "
    "is being put back on the stable backend; becomes RolledBack once the route shows it. "
    "Nothing can move traffic towards the canary from here but a new revision or a retry.",
    Phase.ROLLED_BACK: "100 % is back on the stable backend, after failed checks or an abort. "
    "Final until a new revision or a retry request.",
    Phase.FAILED: "The operator cannot carry out the spec (see InvalidSpec); traffic is left "
    "as it was. Fix the spec, or abort.",
}


class HandledRequests(ApiModel):
    """The last request value (nonce) handled for each kind of `spec.requests`."""

    promote: str | None = Field(default=None, max_length=128)
    """The last `spec.requests.promote` acted on (or ignored)."""

    promote_full: str | None = Field(default=None, max_length=128)
    """The last `spec.requests.promoteFull` acted on (or ignored)."""

    abort: str | None = Field(default=None, max_length=128)
    """The last `spec.requests.abort` acted on (or ignored)."""

    retry: str | None = Field(default=None, max_length=128)
    """The last `spec.requests.retry` acted on (or ignored)."""

    def get(self, kind: RequestKind) -> str | None:
        return kind.value_in(self)

    def with_handled(self, kind: RequestKind, nonce: str | None) -> HandledRequests:
        field = {
            RequestKind.ABORT: "abort",
            RequestKind.RETRY: "retry",
            RequestKind.PROMOTE_FULL: "promote_full",
            RequestKind.PROMOTE: "promote",
        }[kind]
        return self.model_copy(update={field: nonce})


class Drift(ApiModel):
    """Weights put back after someone else changed them on the route: enough to tell a one-off
    edit (put back) from a writer that keeps steering the same weights (held off, not fought)."""

    restores: tuple[datetime, ...] = Field(default=(), max_length=4)
    """When the operator last put changed weights back (the most recent few)."""

    held_by: str | None = Field(default=None, max_length=256)
    """While set, the field manager that kept changing the weights: the Canary holds and writes
    nothing until the route carries its weights again or a retry is requested."""

    held_since: datetime | None = None
    """When the hold began."""


class CanaryStatus(ApiModel):
    """What the operator last did and saw. Written by the operator only."""

    phase: Phase = Phase.PENDING
    """Pending, Progressing, Paused, Promoting, Succeeded, RollingBack, RolledBack or Failed."""

    observed_generation: int = 0
    """The `metadata.generation` this status was computed from."""

    revision: str | None = Field(default=None, max_length=256)
    """The revision being (or last) rolled out: `spec.revision` if set, else the canary
    backend as `name:port`."""

    canary_backend: BackendRef | None = None
    """The canary backend of this rollout; a change of it in the spec starts a new rollout."""

    current_step: int = 0
    """1-based index of the step in force (0: no step applied yet)."""

    total_steps: int = 0
    """Number of steps in the schedule."""

    canary_weight: int = 0
    """The canary weight the operator has set (percent)."""

    route_weight: int | None = None
    """The canary weight the route carries (percent), as last observed or just written; absent
    when the route is missing or its managed rules disagree. `kubectl get` shows this one."""

    stable_weight: int = 100
    """The stable weight the operator has set (percent); always 100 - canaryWeight."""

    started_at: datetime | None = None
    """When this rollout started shifting traffic."""

    step_starts: tuple[datetime, ...] = Field(default=(), max_length=128)
    """When each step of this rollout began carrying its split, oldest first (after a gateway
    lag: when the gateway reported it). Comparison gates compare the backends step by step over
    these windows, so what both share at a moment (an incident) cancels out."""

    step_started_at: datetime | None = None
    """When the current step's weights were applied (or, after a gateway lag, when the gateway
    reported them); its interval is measured from here."""

    gateway_lag_since: datetime | None = None
    """Set when the gateway had still not processed the route's latest generation a few seconds
    after it changed; cleared once it has. Once it catches up, the step's interval starts again,
    so the new weight gets its full exposure before the next check."""

    paused_at: datetime | None = None
    """When the current pause step began (absent outside pause steps)."""

    last_check_time: datetime | None = None
    """When the metrics were last checked."""

    workload: WorkloadStatus | None = None
    """Workload mode: which pod template the primary and the canary run."""

    looked_at: datetime | None = None
    """When comparison (and `failEarly`) gates were last looked at between checks."""

    failed_checks: int = 0
    """Failed checks so far in this rollout; the rollback happens at `failureThreshold`."""

    inconclusive_checks: int = 0
    """Consecutive inconclusive checks; at `inconclusiveLimit` they count as a failed check."""

    metrics: tuple[MetricResult, ...] = Field(default=(), max_length=20)
    """The last result of every metric gate."""

    route_generation: int | None = None
    """The route's `metadata.generation` when the operator last decided to write its weights. A
    route still at that generation has not received the write yet (it is applied again, not
    taken for someone else's change)."""

    drift: Drift | None = None
    """Weights put back after someone else changed them, and a hold against a writer that keeps
    changing them (see the WeightsInSync condition)."""

    request_count: MetricResult | None = None
    """The last result of the traffic guard (`analysis.minRequests`)."""

    handled_requests: HandledRequests = Field(default_factory=HandledRequests)
    """The last handled value of each `spec.requests` field."""

    message: str = Field(default="", max_length=MESSAGE_LIMIT)
    """A sentence on what is happening and, if blocked, what to do."""

    conditions: tuple[Condition, ...] = Field(
        default=(),
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Ready, Progressing, Promoted, RolledBack, Paused, RouteAccepted, InvalidSpec and
    WeightsInSync."""

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)
