"""The conditions a Canary reports, in the standard `metav1.Condition` shape, with every type
and reason named and described so `kubectl wait --for=condition=...` and people can rely on them.

Setting conditions (and their transition times) is `canary.core.conditions`' job.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Final

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
    "accepted by its Gateway; while False the rollout holds and no weight changes, and the "
    "reason names the specific problem (see the RouteAccepted=False reasons below).",
    ConditionType.INVALID_SPEC: "True when the operator cannot carry out the spec as written.",
    ConditionType.WEIGHTS_IN_SYNC: "Whether the route carries the canary weight this Canary "
    "set, and whether this Canary alone steers it: False when another Canary owns the same "
    "weights, when another writer keeps changing them (the Canary then holds instead of "
    "fighting), or when a finished rollout's route was changed afterwards.",
}


REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
REASON_MAX_LENGTH: Final = 1024


def is_reason(text: str) -> bool:
    """Whether `text` is a valid `metav1.Condition` reason (CamelCase, at most 1024 chars)."""
    return len(text) <= REASON_MAX_LENGTH and re.fullmatch(REASON_PATTERN, text) is not None


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionReason(StrEnum):
    """Reasons of every condition except RouteAccepted=False (see `RouteReason`)."""

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
    WORKLOAD_NOT_FOUND = "WorkloadNotFound"
    WORKLOAD_NOT_MANAGEABLE = "WorkloadNotManageable"
    WORKLOAD_INITIALIZING = "WorkloadInitializing"
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"


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
    ConditionReason.WORKLOAD_NOT_FOUND: "Workload mode: the Deployment named by "
    "`spec.workload` does not exist.",
    ConditionReason.WORKLOAD_NOT_MANAGEABLE: "Workload mode: the Deployment cannot be managed "
    "as it is (the message says what to fix).",
    ConditionReason.WORKLOAD_INITIALIZING: "Workload mode: the primary Deployment and the "
    "Services are being created, or the primary rolled out.",
    ConditionReason.PROGRESS_DEADLINE_EXCEEDED: "Workload mode: the canary was not ready within "
    "`spec.workload.progressDeadline`; rolled back.",
}


class RouteReason(StrEnum):
    """Reasons of `RouteAccepted=False`: the specific problem that keeps the route from carrying
    the canary. Some the operator finds itself; the others are the Gateway API reasons a gateway
    controller wrote in the route's `status.parents[]`, carried over as they are. A reason a
    controller invents beyond these is carried over too when it is a valid condition reason."""

    # The route itself.
    ROUTE_NOT_FOUND = "RouteNotFound"
    BACKENDS_NOT_IN_ROUTE = "BackendsNotInRoute"
    # Its parents, as we read them.
    NO_PARENT_REFS = "NoParentRefs"
    GATEWAY_NOT_FOUND = "GatewayNotFound"
    GATEWAY_CLASS_NOT_FOUND = "GatewayClassNotFound"
    GATEWAY_CLASS_NOT_ACCEPTED = "GatewayClassNotAccepted"
    GATEWAY_CLASS_REJECTED = "GatewayClassRejected"
    NO_PARENT_STATUS = "NoParentStatus"
    STATUS_OUTDATED = "StatusOutdated"
    # A controller's Accepted condition for one of the route's parents (Gateway API reasons).
    PENDING = "Pending"
    NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
    NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
    NO_MATCHING_PARENT = "NoMatchingParent"
    UNSUPPORTED_VALUE = "UnsupportedValue"
    PARENT_REF_NOT_PERMITTED = "ParentRefNotPermitted"
    INCOMPATIBLE_FILTERS = "IncompatibleFilters"
    ROUTE_NOT_ACCEPTED = "RouteNotAccepted"
    # A controller's ResolvedRefs condition (Gateway API reasons); RefNotPermitted we also find.
    BACKEND_NOT_FOUND = "BackendNotFound"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_KIND = "InvalidKind"
    UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"
    ROUTE_REFS_NOT_RESOLVED = "RouteRefsNotResolved"
    # Around the route.
    INGRESS_HOSTNAME_CONFLICT = "IngressHostnameConflict"


ROUTE_REASONS: dict[RouteReason, str] = {
    RouteReason.ROUTE_NOT_FOUND: "The route named in `spec.routeRef` does not exist (the "
    "operator never creates one).",
    RouteReason.BACKENDS_NOT_IN_ROUTE: "No managed rule of the route has a backendRef to both "
    "the stable and the canary Service (or a named rule is missing, or lists one twice).",
    RouteReason.NO_PARENT_REFS: "The route has no `spec.parentRefs`, so no Gateway serves it.",
    RouteReason.GATEWAY_NOT_FOUND: "A parentRef names a Gateway that does not exist (whatever "
    "a controller may have written about it): create it or fix `spec.parentRefs`.",
    RouteReason.GATEWAY_CLASS_NOT_FOUND: "The parent Gateway's `gatewayClassName` names a "
    "GatewayClass that does not exist.",
    RouteReason.GATEWAY_CLASS_NOT_ACCEPTED: "No controller has accepted the parent Gateway's "
    "GatewayClass (no controller with its `controllerName` runs), so nothing programs the "
    "Gateway.",
    RouteReason.GATEWAY_CLASS_REJECTED: "The controller of the parent Gateway's GatewayClass "
    "set `Accepted=False` on it (e.g. `InvalidParameters`); the message carries its words.",
    RouteReason.NO_PARENT_STATUS: "The parent Gateway exists but no controller has written "
    "status for the route on it (yet): no controller watches it, or it has not caught up.",
    RouteReason.STATUS_OUTDATED: "The controller's status is for an older generation of the "
    "route: it has not processed the latest change yet (usually seconds).",
    RouteReason.PENDING: "Gateway API: the controller wrote an entry for the parent, but "
    "`Accepted` is Unknown or missing: it has not decided yet.",
    RouteReason.NOT_ALLOWED_BY_LISTENERS: "Gateway API: no listener of the Gateway admits the "
    "route (`allowedRoutes.namespaces`, `allowedRoutes.kinds`, or a protocol that cannot carry "
    "the route kind). `NotAllowedByParent`, an older informal name, is reported as this.",
    RouteReason.NO_MATCHING_LISTENER_HOSTNAME: "Gateway API: none of the route's hostnames "
    "intersects a hostname of the listeners it attaches to.",
    RouteReason.NO_MATCHING_PARENT: "Gateway API: the parentRef's `sectionName` or `port` "
    "matches no listener of the Gateway.",
    RouteReason.UNSUPPORTED_VALUE: "Gateway API: the controller does not support a value the "
    "route uses; its message names the field.",
    RouteReason.PARENT_REF_NOT_PERMITTED: "Gateway API: a parentRef to a Gateway in another "
    "namespace that no ReferenceGrant there allows.",
    RouteReason.INCOMPATIBLE_FILTERS: "Gateway API: the controller cannot combine the filters "
    "of a rule of the route.",
    RouteReason.ROUTE_NOT_ACCEPTED: "A controller set `Accepted=False` without a usable reason; "
    "the message carries its words.",
    RouteReason.BACKEND_NOT_FOUND: "Gateway API: a backendRef names a Service (or port) that "
    "does not exist; the message names it.",
    RouteReason.REF_NOT_PERMITTED: "A backendRef to another namespace that no ReferenceGrant "
    "there allows; found by the operator itself, even before a controller says so.",
    RouteReason.INVALID_KIND: "Gateway API: a backendRef points at a kind the controller does "
    "not support.",
    RouteReason.UNSUPPORTED_PROTOCOL: "Gateway API: a backend Service port's `appProtocol` is "
    "not one the controller supports for this route kind.",
    RouteReason.ROUTE_REFS_NOT_RESOLVED: "A controller set `ResolvedRefs=False` without a "
    "usable reason; the message carries its words.",
    RouteReason.INGRESS_HOSTNAME_CONFLICT: "An Ingress also serves a hostname of the route, so "
    "part of the traffic would bypass the canary split and its metrics.",
}


class Condition(ApiModel):
    """One condition, in the shape of `metav1.Condition`."""

    type: str = Field(min_length=1, max_length=316)
    """Condition type, e.g. `Promoted`."""

    status: ConditionStatus
    """`True`, `False` or `Unknown`."""

    reason: str = Field(pattern=REASON_PATTERN, max_length=REASON_MAX_LENGTH)
    """A CamelCase reason for the last transition."""

    message: str = Field(default="", max_length=32768)
    """What is going on and, when something is wrong, what to do about it."""

    last_transition_time: datetime
    """When `status` last changed."""

    observed_generation: int = Field(default=0, ge=0)
    """The `metadata.generation` this condition was computed from."""
