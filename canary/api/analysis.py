"""The analysis a Canary declares: Prometheus metric gates, their thresholds, and what to do when
a query returns no data or fails.

Declarations only: rendering and running queries is `canary.providers`' job, judging samples is
`canary.core.verdicts`'.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from canary.api.duration import Duration, parse_duration
from canary.api.model import ApiModel, Rule
from canary.api.query import Query, QueryVariable, query_rules
from canary.api.route import DNS_LABEL, OBJECT_NAME
from canary.api.templates import BuiltinTemplate

# QueryVariable is re-exported: it is part of what a gate declares.
__all__ = [
    "Analysis", "MetricGate", "MinRequests", "OutcomePolicy", "PrometheusConfig",
    "QueryVariable", "SecretRef",
]


class OutcomePolicy(StrEnum):
    """How a query outcome that has no value to judge (no data, or an error) counts."""

    INCONCLUSIVE = "Inconclusive"
    FAIL = "Fail"
    PASS = "Pass"


class MetricGate(ApiModel):
    """One metric gate: a query whose value must stay within `[min, max]` at every check."""

    cel_rules = (
        *query_rules("metric"),
        Rule(
            "has(self.min) || has(self.max)",
            "metric: set min, max or both (a gate without a threshold would always pass)",
            lambda m: m.min is not None or m.max is not None,
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
        Rule(
            "duration(self.timeout) >= duration('1s')",
            "prometheus: timeout must be at least 1s",
            lambda p: parse_duration(p.timeout) >= timedelta(seconds=1),
            field_path=".timeout",
        ),
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
    """Optional traffic guard evaluated before any metric is judged."""
