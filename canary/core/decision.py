"""What `decide()` returns: the actions to take, the new status, when to look again, and why.

Plain frozen values; the controller's executor carries the actions out. Nothing here acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from canary.api.status import CanaryStatus


class EventReason(StrEnum):
    """Reasons of the Kubernetes Events the operator emits for a Canary."""

    ROLLOUT_STARTED = "RolloutStarted"
    STEP_ADVANCED = "StepAdvanced"
    METRIC_CHECK_PASSED = "MetricCheckPassed"
    METRIC_CHECK_FAILED = "MetricCheckFailed"
    METRIC_CHECK_INCONCLUSIVE = "MetricCheckInconclusive"
    METRIC_NO_DATA = "MetricNoData"
    METRIC_ERROR = "MetricError"
    NOT_ENOUGH_TRAFFIC = "NotEnoughTraffic"
    ROUTE_NOT_ACCEPTED = "RouteNotAccepted"
    ROUTE_ACCEPTED = "RouteAccepted"
    ROUTE_HINT = "RouteHint"  # a route problem that does not hold the rollout (once per hint)
    WEIGHTS_RESTORED = "WeightsRestored"
    PAUSED = "Paused"
    RESUMED = "Resumed"
    PROMOTING = "Promoting"
    PROMOTED = "Promoted"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    ABORTED = "Aborted"
    RETRIED = "Retried"
    REQUEST_IGNORED = "RequestIgnored"
    INVALID_SPEC = "InvalidSpec"
    OWNED_BY_ANOTHER_CANARY = "OwnedByAnotherCanary"
    WEIGHTS_CONTESTED = "WeightsContested"
    ROUTE_CHANGED = "RouteChanged"
    WORKLOAD_PROBLEM = "WorkloadProblem"
    WORKLOAD_INITIALIZED = "WorkloadInitialized"


@dataclass(frozen=True)
class SetWeights:
    """Set every managed rule to stable = 100 - canary, canary = canary."""

    canary: int

    def __post_init__(self) -> None:
        if not 0 <= self.canary <= 100:
            raise ValueError(f"canary weight {self.canary} is outside 0..100")

    @property
    def stable(self) -> int:
        return 100 - self.canary


@dataclass(frozen=True)
class RewriteRoute:
    """Promotion mode Rewrite: make the canary backend the only backend of the managed rules."""


@dataclass(frozen=True)
class EmitEvent:
    """Record a Kubernetes Event on the Canary."""

    type: Literal["Normal", "Warning"]
    reason: EventReason
    message: str


@dataclass(frozen=True)
class EnsureWorkload:
    """Workload mode: create what the operator owns and is missing — the primary Deployment (a
    copy of the Deployment's pod template, with the operator's selector label, `replicas`
    replicas, owned by the Canary) and the Services `<name>-primary` and `<name>-canary`; with
    `autoscalerRef`, the primary's HPA, created or brought back to the user's HPA's spec."""

    replicas: int


@dataclass(frozen=True)
class PromoteTemplate:
    """Workload mode: copy the Deployment's pod template (`revision`) to the primary."""

    revision: str


@dataclass(frozen=True)
class ScaleWorkload:
    """Workload mode: set the replicas of the Deployment (`primary=False`: the canary) or of
    the primary."""

    replicas: int
    primary: bool = False


Action = SetWeights | RewriteRoute | EmitEvent | EnsureWorkload | PromoteTemplate | ScaleWorkload


@dataclass(frozen=True)
class Decision:
    """The outcome of one `decide()`: write `status` (once, if it differs from the old one, and
    before anything else: the decision is durable before traffic moves), then carry out
    `actions` in order, then reconcile again after `requeue_after` (None: only when something
    changes). `reasons` are sentences for the reconcile's log line."""

    actions: tuple[Action, ...]
    status: CanaryStatus
    requeue_after: timedelta | None
    reasons: tuple[str, ...]

    @property
    def weight_changes(self) -> tuple[SetWeights, ...]:
        return tuple(a for a in self.actions if isinstance(a, SetWeights))

    @property
    def events(self) -> tuple[EmitEvent, ...]:
        return tuple(a for a in self.actions if isinstance(a, EmitEvent))
