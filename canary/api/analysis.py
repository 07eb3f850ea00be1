"""The analysis a Canary declares: Prometheus metric gates, their thresholds, and what to do when
a query returns no data or fails.

Declarations only: rendering and running queries is `canary.providers`' job, judging samples is
`canary.core.verdicts`'.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from canary.api.comparison import Comparison, Sequential
from canary.api.duration import Duration, minimum_duration_rule, parse_duration
from canary.api.model import ApiModel, Rule
from canary.api.policy import OutcomePolicy
from canary.api.query import Query, QueryVariable, query_rules
from canary.api.route import DNS_LABEL, OBJECT_NAME
from canary.api.templates import BuiltinTemplate

# QueryVariable is re-exported: it is part of what a gate declares.
__all__ = [
    "Analysis", "Comparison", "MetricGate", "MinRequests", "OutcomePolicy", "PrometheusConfig",
    "QueryVariable", "SecretRef", "Sequential",
]


class MetricGate(ApiModel):
    """One metric gate: a query whose value must stay within `[min, max]` at every check (a
    threshold gate), or a comparison of the canary with the stable backend (`compare`)."""

    cel_rules = (
        Rule(
            "has(self.compare) ? !has(self.template) && !has(self.query) : "
            "has(self.template) != has(self.query)",
            "metric: set exactly one of template (a built-in), query (inline PromQL) or compare",
            lambda m: (m.template is None and m.query is None) if m.compare is not None
            else (m.template is None) != (m.query is None),
        ),
        *query_rules("metric", exclusive=False),
        Rule(
            "!has(self.compare) || (!has(self.min) && !has(self.max) && !has(self.interval))",
            "metric: a comparison has no min, max or interval (it compares the canary with the "
            "stable backend over everything since the rollout started)",
            lambda m: m.compare is None or (m.min is None and m.max is None and m.interval is None),
        ),
        Rule(
            "has(self.compare) || has(self.min) || has(self.max)",
            "metric: set min, max or both (a gate without a threshold would always pass)",
            lambda m: m.compare is not None or m.min is not None or m.max is not None,
        ),
        Rule(
            "!has(self.min) || !has(self.max) || self.min <= self.max",
            "metric: min must not be larger than max",
            lambda m: m.min is None or m.max is None or m.min <= m.max,
        ),
    )

    name: str = Field(pattern=DNS_LABEL, min_length=1, max_length=63)
    """Name of the gate, unique within the Canary; shown in status, events and the CLI."""

    template: BuiltinTemplate | None = None
    """A built-in query; what each measures and in which unit is listed in
    docs/reference/canary.md. Excludes `query`."""

    query: Query | None = None
    """Inline PromQL returning one number. May use `{{ namespace }}`, `{{ canary }}`,
    `{{ route }}`, `{{ stable_service }}`, `{{ stable_port }}`, `{{ canary_service }}`,
    `{{ canary_port }}` and `{{ interval }}`. Excludes `template`."""

    compare: Comparison | None = None
    """Compare the canary with the stable backend instead of a threshold: error rates or latency
    distributions, looked at every `analysis.sequential.every` and rolled back at once on
    conclusive evidence of harm (docs/judgement.md). Excludes `template`, `query`, `min`, `max`
    and `interval`."""

    interval: Duration | None = None
    """The query's look-back window (`{{ interval }}`), e.g. `1m`. Defaults to the step
    interval."""

    min: float | None = None
    """The lowest passing value (inclusive)."""

    max: float | None = None
    """The highest passing value (inclusive)."""

    on_no_data: OutcomePolicy = OutcomePolicy.INCONCLUSIVE
    """What an empty result or NaN counts as. `Inconclusive` holds the step (see
    `analysis.inconclusiveLimit`); `Fail` counts a failed check; `Pass` ignores the gate."""

    on_error: OutcomePolicy = OutcomePolicy.INCONCLUSIVE
    """What a failed query (Prometheus unreachable, timeout, bad PromQL) counts as; same
    choices as `onNoData`."""

    fail_early: bool = False
    """A threshold gate: also judge it at every look between checks (every
    `analysis.sequential.every`), so that a failure counts at once instead of at the step's end.
    Each failing look counts as a failed check towards `failureThreshold`."""

    @property
    def sequential(self) -> bool:
        """Looked at between checks: a comparison, or a threshold gate that fails early."""
        return self.compare is not None or self.fail_early

    def window(self, step_interval: timedelta) -> timedelta:
        return step_interval if self.interval is None else parse_duration(self.interval)


class MinRequests(ApiModel):
    """A traffic guard: below `count` requests to the canary in the window, no check is judged
    (the check is inconclusive), so a quiet canary is not failed or passed on noise."""

    cel_rules = query_rules("minRequests")

    count: int = Field(ge=1, le=1_000_000_000)
    """The least number of canary requests in the window for a check to be judged."""

    template: BuiltinTemplate | None = None
    """A built-in request-count query, e.g. `envoy-request-count`. Excludes `query`."""

    query: Query | None = None
    """Inline PromQL returning the canary's request count in the window. Excludes
    `template`."""

    interval: Duration | None = None
    """The window (`{{ interval }}`). Defaults to the step interval."""


class SecretRef(ApiModel):
    """A Secret in the Canary's namespace."""

    name: str = Field(pattern=OBJECT_NAME, min_length=1, max_length=253)
    """Name of the Secret."""


class PrometheusConfig(ApiModel):
    """Where and how to query Prometheus for this Canary."""

    cel_rules = (
        minimum_duration_rule("timeout", "1s", "prometheus: timeout must be at least 1s"),
    )

    address: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)
    """Base URL, e.g. `http://prometheus.monitoring:9090`. Defaults to the operator's global
    setting (`--prometheus-address`)."""

    secret_ref: SecretRef | None = None
    """Credentials: key `token` for a bearer token, or keys `username` and `password` for basic
    auth."""

    insecure_skip_verify: bool = False
    """Skip TLS certificate verification. Only for test setups."""

    timeout: Duration = "10s"
    """Timeout of each query. A timed-out query counts as an error (see `onError`)."""


class Analysis(ApiModel):
    """The checks run at the end of every step, and when they roll the canary back."""

    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    """The Prometheus server to query."""

    metrics: tuple[MetricGate, ...] = Field(
        default=(),
        max_length=20,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """The gates. A check passes when every gate passes."""

    failure_threshold: int = Field(default=2, ge=1, le=100)
    """Failed checks (counted over the whole rollout) that trigger the rollback: the rollback
    happens at exactly this many."""

    inconclusive_limit: int = Field(default=5, ge=0, le=100)
    """Consecutive inconclusive checks that count as one failed check (then the count starts
    again). A conclusive check resets it. `0`: inconclusive checks never count as failures;
    the rollout holds until data arrives or a person acts."""

    min_requests: MinRequests | None = None
    """Optional traffic guard evaluated before any metric is judged (threshold gates only:
    comparisons weigh their own sample counts)."""

    sequential: Sequential = Field(default_factory=Sequential)
    """How often comparison gates (and `failEarly` threshold gates) are looked at during a step,
    and the false-rollback rate the comparisons keep to."""

    @property
    def comparisons(self) -> tuple[MetricGate, ...]:
        return tuple(g for g in self.metrics if g.compare is not None)

    def comparison_alpha(self) -> float:
        """Each comparison gate's share of the false-rollback rate."""
        return self.sequential.false_rollback_rate / max(1, len(self.comparisons))
