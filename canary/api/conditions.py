"""The conditions a Canary reports, in the standard `metav1.Condition` shape, with every type
and reason named and described so `kubectl wait --for=condition=...` and people can rely on them.

Setting conditions (and their transition times) is `canary.core.conditions`' job.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from canary.api.model import ApiModel


class ConditionType(StrEnum):
    READY = "Ready"
    PROGRESSING = "Progressing"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    PAUSED = "Paused"
    ROUTE_ACCEPTED = "RouteAccepted"
    INVALID_SPEC = "InvalidSpec"
    WEIGHTS_IN_SYNC = "WeightsInSync"


CONDITION_TYPES: dict[ConditionType, str] = {
    ConditionType.READY: "True once the current revision is promoted; False when it was rolled "
    "back or the spec cannot be carried out; Unknown while a rollout is under way.",
    ConditionType.PROGRESSING: "True while a rollout is under way (Pending, Progressing, "
    "Promoting, RollingBack); False when paused or finished.",
    ConditionType.PROMOTED: "True once the current revision is promoted. Reset to False when a "
    "new revision starts, so waiting on it never returns the previous rollout's result.",
    ConditionType.ROLLED_BACK: "True when the current revision was rolled back (failed checks "
    "or an abort request) and the route shows 100 % on stable; the reason says why. Stays "
    "False while the rollback is still being written (phase RollingBack).",
    ConditionType.PAUSED: "True while the rollout is held by `spec.paused` or by a pause step.",
    ConditionType.ROUTE_ACCEPTED: "Whether the route exists, contains both backends and is "
    "accepted by its Gateway; while False the rollout holds and no weight changes.",
    ConditionType.INVALID_SPEC: "True when the operator cannot carry out the spec as written.",
    ConditionType.WEIGHTS_IN_SYNC: "Whether the route carries the canary weight this Canary "
    "set, and whether this Canary alone steers it: False when another Canary owns the same "
    "weights, when another writer keeps changing them (the Canary then holds instead of "
    "fighting), or when a finished rollout's route was changed afterwards.",
}


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionReason(StrEnum):
    """Reasons of every condition except RouteAccepted=False, whose reasons are the route
    problems of `canary.core.observations.RouteProblem`."""

    ROLLOUT_PENDING = "RolloutPending"
    ROLLOUT_IN_PROGRESS = "RolloutInProgress"
    PROMOTING = "Promoting"
    PROMOTED = "Promoted"
    METRIC_CHECKS_FAILED = "MetricChecksFailed"
    ABORTED = "Aborted"
    PAUSED_BY_SPEC = "PausedBySpec"
    PAUSE_STEP = "PauseStep"
    AWAITING_PROMOTION = "AwaitingPromotion"
    NOT_PAUSED = "NotPaused"
    ACCEPTED = "Accepted"
    SPEC_VALID = "SpecValid"
    UNSUPPORTED_ROUTE_KIND = "UnsupportedRouteKind"
    SPEC_REJECTED = "SpecRejected"
    SAME_BACKENDS_AFTER_PROMOTION = "SameBackendsAfterPromotion"
    IN_SYNC = "InSync"
    OWNED_BY_ANOTHER_CANARY = "OwnedByAnotherCanary"
    CONTESTED_BY_FIELD_MANAGER = "ContestedByFieldManager"
    ROUTE_CHANGED = "RouteChanged"
    ROUTE_WEIGHTS_UNKNOWN = "RouteWeightsUnknown"


CONDITION_REASONS: dict[ConditionReason, str] = {
    ConditionReason.ROLLOUT_PENDING: "A new rollout is waiting to start (see RouteAccepted).",
    ConditionReason.ROLLOUT_IN_PROGRESS: "Steps are being applied and checked.",
    ConditionReason.PROMOTING: "Every step passed; 100 % is being put on the canary.",
    ConditionReason.PROMOTED: "The revision is promoted.",
    ConditionReason.METRIC_CHECKS_FAILED: "Rolled back after `failureThreshold` failed checks.",
    ConditionReason.ABORTED: "Rolled back by an abort request.",
    ConditionReason.PAUSED_BY_SPEC: "Held by `spec.paused: true`.",
    ConditionReason.PAUSE_STEP: "In a timed pause step.",
    ConditionReason.AWAITING_PROMOTION: "In a pause step that waits for a promote request.",
    ConditionReason.NOT_PAUSED: "Not paused.",
    ConditionReason.ACCEPTED: "The route is accepted and contains both backends.",
    ConditionReason.SPEC_VALID: "The spec can be carried out.",
    ConditionReason.UNSUPPORTED_ROUTE_KIND: "The route kind is not supported by this operator.",
    ConditionReason.SPEC_REJECTED: "The spec could not be read by the operator.",
    ConditionReason.SAME_BACKENDS_AFTER_PROMOTION: "A new revision names the same two backends "
    "as the revision promoted with `Weights`: it would start again from the old stable backend. "
    "Name the new version's backend, or set `spec.promotion.restartFromStable: true`.",
    ConditionReason.IN_SYNC: "The route carries the canary weight this Canary set.",
    ConditionReason.OWNED_BY_ANOTHER_CANARY: "An older Canary names the same route and a "
    "backend of this one: it alone steers those weights; this Canary writes nothing.",
    ConditionReason.CONTESTED_BY_FIELD_MANAGER: "Another writer (named by its field manager) "
    "kept changing the weights: the Canary holds, writing nothing, until the route carries its "
    "weights again or a retry is requested.",
    ConditionReason.ROUTE_CHANGED: "The route no longer carries the weight this Canary set "
    "(for a finished rollout: it was changed afterwards, e.g. re-applied from Git).",
    ConditionReason.ROUTE_WEIGHTS_UNKNOWN: "The route is missing or its managed rules disagree.",
}


class Condition(ApiModel):
    """One condition, in the shape of `metav1.Condition`."""

    type: str = Field(min_length=1, max_length=316)
    """Condition type, e.g. `Promoted`."""

    status: ConditionStatus
    """`True`, `False` or `Unknown`."""

    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    """A CamelCase reason for the last transition."""

    message: str = Field(default="", max_length=32768)
    """What is going on and, when something is wrong, what to do about it."""

    last_transition_time: datetime
    """When `status` last changed."""

    observed_generation: int = Field(default=0, ge=0)
    """The `metadata.generation` this condition was computed from."""
