"""A comparison gate: the canary judged against the stable backend, over the same window, by a
sequential test that may be looked at every few seconds (docs/judgement.md).

Declarations only: rendering the queries for each backend is `canary.providers`' job, the
statistics are `canary.core.sequential`'s.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from canary.api.duration import Duration, minimum_duration_rule, parse_duration
from canary.api.model import ApiModel, Rule
from canary.api.policy import OutcomePolicy
from canary.api.query import Query, query_text_rules


class ComparisonTemplate(StrEnum):
    """Built-in query families for comparisons, named for the implementation whose series they
    read (the same series as the `contour-*`, `envoy-*`, `istio-*` and `app-*` templates).
    Envoy Gateway has none: it exports no per-backend series to compare."""

    CONTOUR = "contour"
    ENVOY = "envoy"
    ISTIO = "istio"
    APP = "app"


class ErrorRateComparison(ApiModel):
    """Compare error rates: the canary's requests and errors against the stable's."""

    cel_rules = (
        Rule(
            "has(self.template) != (has(self.requests) && has(self.errors))",
            "errorRate: set either template, or both requests and errors",
            lambda m: (m.template is not None) != (m.requests is not None and m.errors is not None),
        ),
        Rule(
            "!has(self.template) || (!has(self.requests) && !has(self.errors))",
            "errorRate: template excludes requests and errors",
            lambda m: m.template is None or (m.requests is None and m.errors is None),
        ),
        *query_text_rules("errorRate", "requests"),
        *query_text_rules("errorRate", "errors"),
    )

    template: ComparisonTemplate | None = None
    """A built-in family (`contour`, `envoy`, `istio`, `app`). Excludes `requests` and
    `errors`."""

    requests: Query | None = None
    """Inline PromQL returning the number of requests in `{{ interval }}`, written for the
    canary (`{{ canary_service }}`, `{{ canary_namespace }}`, `{{ canary_port }}`); the
    operator renders it a second time with those variables set to the stable backend."""

    errors: Query | None = None
    """Inline PromQL returning the number of failed requests in `{{ interval }}`, written like
    `requests`. Return 0 rather than nothing when there were none (`... or vector(0)`)."""

    tolerance: float = Field(default=1.0, ge=0, le=100)
    """The tolerated degradation, in percentage points of error rate: `1` fails the canary only
    on conclusive evidence that its error rate is more than 1 point above the stable's."""


class LatencyComparison(ApiModel):
    """Compare latency distributions from the histogram buckets both backends export."""

    cel_rules = (
        Rule(
            "has(self.template) != has(self.buckets)",
            "latency: set exactly one of template or buckets",
            lambda m: (m.template is None) != (m.buckets is None),
        ),
        *query_text_rules("latency", "buckets"),
    )

    template: ComparisonTemplate | None = None
    """A built-in family (`contour`, `envoy`, `istio`, `app`). Excludes `buckets`."""

    buckets: Query | None = None
    """Inline PromQL returning one series per bucket, labelled `le`, with the number of requests
    in `{{ interval }}` at most that slow, e.g. `sum by (le) (increase(x_bucket{...}[{{ interval
    }}]))`; written for the canary and rendered again for the stable backend."""

    slowdown: float = Field(default=20.0, ge=0, le=1000)
    """The tolerated relative slowdown in percent: `20` lets every part of the canary's
    distribution be up to 1.2 times the stable's."""

    tolerance: float = Field(default=0.5, ge=0, le=100)
    """The share of requests, in percentage points, that may be slower than that: `0.5` fails
    the canary only on conclusive evidence that more than 0.5 % more of its requests are slower
    than 1.2 times the stable's at some bucket."""


class Comparison(ApiModel):
    """What a comparison gate compares: exactly one of `errorRate` or `latency`."""

    cel_rules = (
        Rule(
            "has(self.errorRate) != has(self.latency)",
            "compare: set exactly one of errorRate or latency",
            lambda m: (m.error_rate is None) != (m.latency is None),
        ),
    )

    error_rate: ErrorRateComparison | None = None
    """Compare error rates (a test on counts)."""

    latency: LatencyComparison | None = None
    """Compare latency distributions (a test at every bucket boundary)."""

    on_inconclusive: OutcomePolicy = OutcomePolicy.INCONCLUSIVE
    """What the comparison counts as at the end of a step when the evidence is not yet
    conclusive either way: `Inconclusive` holds the step while evidence accumulates (see
    `analysis.inconclusiveLimit`); `Pass` advances on the absence of evidence of harm (the test
    keeps running at every look, so a canary that turns out worse is still rolled back as soon
    as the evidence is conclusive); `Fail` counts a failed check."""


class Sequential(ApiModel):
    """How comparison gates (and threshold gates with `failEarly`) are looked at during a step."""

    cel_rules = (
        minimum_duration_rule("every", "1s", "sequential: every must be at least 1s"),
    )

    every: Duration = "5s"
    """How often to look between the step's checks. Looking more often than Prometheus scrapes
    only repeats the same data: keep it at least the scrape interval."""

    false_rollback_rate: float = Field(default=0.01, ge=0.0001, le=0.2)
    """The highest probability, over a whole rollout, that comparison gates roll back a canary
    that is within its tolerances, however often they are looked at. Split evenly between the
    comparison gates."""

    def period(self) -> timedelta:
        return parse_duration(self.every)
