"""What the operator saw in the world, as plain values: the inputs of `decide()`.

Adapters (routers, providers) produce these; the pure core consumes them. Nothing here does
I/O. "No data" and "query failed" are distinct outcomes and must never be collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from canary.api.conditions import RouteReason, is_reason
from canary.core.sequential import Counts, Histogram


class SampleOutcome(StrEnum):
    """The three outcomes of one metric query."""

    VALUE = "Value"
    NO_DATA = "NoData"  # empty result or NaN: nothing to judge (often: no traffic)
    ERROR = "Error"  # the query itself failed: unreachable, timeout, bad PromQL, auth


@dataclass(frozen=True)
class MetricSample:
    """One metric gate's result at one point in time."""

    metric: str
    outcome: SampleOutcome
    value: float | None = None
    query: str = ""
    error: str = ""

    @classmethod
    def of(cls, metric: str, value: float, *, query: str = "") -> MetricSample:
        return cls(metric=metric, outcome=SampleOutcome.VALUE, value=value, query=query)

    @classmethod
    def no_data(cls, metric: str, *, query: str = "") -> MetricSample:
        return cls(metric=metric, outcome=SampleOutcome.NO_DATA, query=query)

    @classmethod
    def failed(cls, metric: str, error: str, *, query: str = "") -> MetricSample:
        return cls(metric=metric, outcome=SampleOutcome.ERROR, query=query, error=error)


Sides = tuple[Counts, Counts] | tuple[Histogram, Histogram]


@dataclass(frozen=True)
class ComparisonSample:
    """One comparison gate's samples of both backends, (canary, stable) per rollout step, over
    the same windows, oldest first: `Counts` (requests, errors) for an error-rate comparison,
    `Histogram`s for a latency comparison. A step in which either backend had no data is left
    out. VALUE when at least one step has both; NO_DATA when none has; ERROR when a query
    failed."""

    metric: str
    outcome: SampleOutcome
    steps: tuple[Sides, ...] = ()
    since: datetime | None = None  # the first window's start (the rollout's start)
    query: str = ""  # the canary's rendered queries (the current step's)
    error: str = ""


@dataclass(frozen=True)
class DeploymentState:
    """A Deployment as workload mode needs it, read from the cache."""

    exists: bool = False
    revision: str = ""  # the operator's hash of the pod template (`canary.kube.workloads`)
    images: tuple[str, ...] = ()
    replicas: int = 0  # spec.replicas
    ready: int = 0  # ready replicas running `revision`
    rolled_out: bool = False  # its controller finished rolling out `revision` to `replicas`
    problem: str = ""  # why the operator cannot manage it (empty: it can)


@dataclass(frozen=True)
class WorkloadObservation:
    """Workload mode's world: the user's Deployment (the canary runs there), the primary the
    operator owns, whether the two Services exist with the operator's selectors, and whether
    the primary's HPA copy (with `autoscalerRef`) exists with the user's HPA's spec."""

    source: DeploymentState
    primary: DeploymentState
    services: bool = False
    autoscaler_in_line: bool = True

    @property
    def canary_ready(self) -> bool:
        source = self.source
        return source.exists and source.replicas > 0 and source.rolled_out

    @property
    def primary_ready(self) -> bool:
        primary = self.primary
        return primary.exists and primary.replicas > 0 and primary.rolled_out


class RouteProblem(StrEnum):
    """What kind of problem keeps a route from carrying a canary (or, in a hint, would if it
    touched the managed rules): the grouping `canary check` hints by. The condition reason is
    the issue's own, more specific `RouteIssue.reason`."""

    ROUTE_NOT_FOUND = "RouteNotFound"
    BACKENDS_NOT_IN_ROUTE = "BackendsNotInRoute"
    PARENT_NOT_FOUND = "ParentNotFound"  # no parentRefs, or one names a missing Gateway
    NO_PARENT_STATUS = "RouteNotYetAccepted"  # no controller wrote status.parents (yet)
    NOT_ACCEPTED = "RouteNotAccepted"  # a parent's Accepted=False (NotAllowedByListeners, ...)
    REFS_NOT_RESOLVED = "RouteRefsNotResolved"  # ResolvedRefs=False (BackendNotFound...)
    GATEWAY_CLASS_NOT_ACCEPTED = "GatewayClassNotAccepted"  # no controller accepted the class
    INGRESS_CONFLICT = "IngressHostnameConflict"  # an Ingress serves the same hostname


FALLBACK_REASONS: dict[RouteProblem, RouteReason] = {
    RouteProblem.ROUTE_NOT_FOUND: RouteReason.ROUTE_NOT_FOUND,
    RouteProblem.BACKENDS_NOT_IN_ROUTE: RouteReason.BACKENDS_NOT_IN_ROUTE,
    RouteProblem.PARENT_NOT_FOUND: RouteReason.GATEWAY_NOT_FOUND,
    RouteProblem.NO_PARENT_STATUS: RouteReason.NO_PARENT_STATUS,
    RouteProblem.NOT_ACCEPTED: RouteReason.ROUTE_NOT_ACCEPTED,
    RouteProblem.REFS_NOT_RESOLVED: RouteReason.ROUTE_REFS_NOT_RESOLVED,
    RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED: RouteReason.GATEWAY_CLASS_NOT_ACCEPTED,
    RouteProblem.INGRESS_CONFLICT: RouteReason.INGRESS_HOSTNAME_CONFLICT,
}


@dataclass(frozen=True)
class RouteIssue:
    """One diagnosed problem with the route: its kind, its specific reason, what to fix."""

    problem: RouteProblem
    reason: str  # specific: a `RouteReason`, or the reason a gateway controller wrote
    message: str  # actionable: says what to fix and where

    @property
    def condition_reason(self) -> str:
        """`reason` when it is a valid condition reason, else the kind's generic one."""
        return self.reason if is_reason(self.reason) else FALLBACK_REASONS[self.problem].value


@dataclass(frozen=True)
class RuleWeights:
    """The weights of the two managed backendRefs in one managed rule."""

    index: int
    name: str | None
    stable: int
    canary: int

    @property
    def canary_share(self) -> int:
        """The canary's share of this rule's traffic, in percent."""
        total = self.stable + self.canary
        return 0 if total == 0 else round(100 * self.canary / total)


@dataclass(frozen=True)
class RouteObservation:
    """The route as read from the cache: managed weights and attachment health.

    `issues` keep the route from carrying the canary (any one holds the rollout); `hints` are
    problems worth knowing that do not stop it, e.g. a GatewayClass without status whose
    controller accepted the Gateway and the route, or a backendRef that cannot resolve in a
    rule the canary does not manage. `attached` ignores hints.
    """

    exists: bool
    rules: tuple[RuleWeights, ...] = ()
    issues: tuple[RouteIssue, ...] = ()
    hints: tuple[RouteIssue, ...] = ()
    generation: int = 0
    resource_version: str = ""
    writer: str = ""  # the field manager that last wrote the route's rules (managedFields)

    @property
    def attached(self) -> bool:
        return self.exists and not self.issues and bool(self.rules)

    @property
    def canary_weight(self) -> int | None:
        """The canary's share in percent if every managed rule agrees, else None."""
        shares = {rule.canary_share for rule in self.rules}
        return shares.pop() if len(shares) == 1 else None


@dataclass(frozen=True)
class Observations:
    """Everything `decide()` may look at besides the spec, the status and the time."""

    route: RouteObservation
    metrics: tuple[MetricSample, ...] = ()
    request_count: MetricSample | None = None  # the minimum-traffic guard, when configured
    comparisons: tuple[ComparisonSample, ...] = ()
    workload: WorkloadObservation | None = None  # workload mode only
    owner: str | None = None  # another Canary that owns the managed weights (None: this one)
    extra: dict[str, str] = field(default_factory=dict)
