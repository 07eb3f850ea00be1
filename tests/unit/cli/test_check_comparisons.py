"""`canary check` on comparison gates: their queries run for both backends over the rollout's
window (or a step interval before one), what they count is reported, no data and failures
block as for threshold gates, and a comparison with no data gets the "no series" diagnosis for
each backend."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canary.api import MetricGate, OutcomePolicy
from canary.api.analysis import Analysis
from canary.api.resource import Canary
from canary.api.spec import CanarySpec
from canary.cli import preflight
from canary.cli.findings import Severity
from canary.cli.gates import comparison_finding, comparison_window, metric_findings
from canary.core.observations import ComparisonSample, MetricSample, SampleOutcome
from canary.core.sequential import Counts, Histogram
from canary.providers.queries import (
    Side,
    comparison_variables,
    gate_template,
    render_comparison,
    render_gate,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ERRORS = MetricGate.model_validate(
    {"name": "errors", "compare": {"errorRate": {"template": "contour", "tolerance": 1}}}
)
LATENCY = MetricGate.model_validate(
    {"name": "latency", "compare": {"latency": {"template": "contour"}}}
)
SUCCESS = MetricGate(name="success-rate", query="up", min=99)
WINDOW = "since the rollout started 5m ago"


def canary(status: dict[str, Any] | None = None, **analysis: Any) -> Canary:
    return Canary.model_validate(
        {
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {
                "routeRef": {"name": "api-route"},
                "stable": {"name": "api-v1", "port": 8080},
                "canary": {"name": "api-v2", "port": 8080},
                "steps": {"weights": [5, 50], "interval": "2m"},
                "analysis": {
                    "prometheus": {"address": "http://prometheus:9090"},
                    "metrics": [SUCCESS.to_api(), ERRORS.to_api(), LATENCY.to_api()],
                    **analysis,
                },
            },
            "status": status or {},
        }
    )


def counted(outcome: SampleOutcome = SampleOutcome.VALUE, **extra: Any) -> ComparisonSample:
    if outcome is SampleOutcome.VALUE:
        extra = {"steps": ((Counts(1000, 2), Counts(9000, 16)),
                           (Counts(812, 10), Counts(7490, 50))), **extra}
    return ComparisonSample("errors", outcome, query="requests: q1; errors: q2", **extra)


def test_counts_that_answer_for_both_backends_are_reported_as_they_are() -> None:
    found = comparison_finding(ERRORS, counted(), 25, WINDOW)
    assert found.severity is Severity.OK and found.subject == "metric errors"
    assert found.message.startswith(
        "error counts answer for both backends since the rollout started 5m ago: canary 12 of "
        "1,812 requests failed, stable 66 of 16,490 requests failed; judged at every look"
    )
    histograms = ComparisonSample(
        "latency",
        SampleOutcome.VALUE,
        steps=((Histogram(((0.1, 900.0), (float("inf"), 1000.0))),
                Histogram(((0.1, 8000.0), (float("inf"), 9000.0)))),),
    )
    latency = comparison_finding(LATENCY, histograms, 25, WINDOW)
    assert "latency histograms answer" in latency.message
    assert "canary 1,000 requests, stable 9,000 requests" in latency.message


@pytest.mark.parametrize(
    ("weight", "severity", "words"),
    [(0, Severity.WARNING, "as expected while the canary receives no traffic"),
     (None, Severity.BLOCKER, "although"),
     (25, Severity.BLOCKER, "although the canary receives traffic")],
)
def test_no_data_blocks_only_when_the_canary_has_traffic(
    weight: int | None, severity: Severity, words: str
) -> None:
    found = comparison_finding(ERRORS, counted(SampleOutcome.NO_DATA), weight, WINDOW)
    assert found.severity is severity and words in found.message
    assert "requests: q1; errors: q2" in found.hint and "or vector(0)" in found.hint


def test_failing_queries_block_unless_the_policies_say_pass() -> None:
    failed = counted(SampleOutcome.ERROR, error="errors query failed: bad_data")
    found = comparison_finding(ERRORS, failed, 25, WINDOW)
    assert found.severity is Severity.BLOCKER
    assert found.message == "the comparison's queries fail: errors query failed: bad_data"
    assert "requests: q1; errors: q2" in found.hint
    lenient = ERRORS.model_copy(
        update={"on_error": OutcomePolicy.PASS, "on_no_data": OutcomePolicy.PASS}
    )
    assert comparison_finding(lenient, failed, 25, WINDOW).severity is Severity.WARNING
    quiet = comparison_finding(lenient, counted(SampleOutcome.NO_DATA), 25, WINDOW)
    assert quiet.severity is Severity.WARNING and "onNoData: Pass" in quiet.message


def test_findings_follow_the_spec_order_of_threshold_and_comparison_gates() -> None:
    analysis = canary().spec.analysis
    assert analysis is not None
    no_data = ComparisonSample("latency", SampleOutcome.NO_DATA)
    found = metric_findings(
        analysis,
        [MetricSample.of("success-rate", 99.9)],
        None,
        canary_weight=0,
        comparisons=[counted(), no_data],
        window=WINDOW,
    )
    assert [(f.subject, f.severity) for f in found] == [
        ("metric success-rate", Severity.OK),
        ("metric errors", Severity.OK),
        ("metric latency", Severity.WARNING),
    ]
    # Comparisons not sampled (no Prometheus to ask): only the threshold gates are judged.
    assert len(metric_findings(analysis, [MetricSample.of("s", 99.9)], None, canary_weight=0)) == 1


def test_the_window_is_the_rollouts_while_one_is_under_way_else_a_step_interval() -> None:
    started = canary({"phase": "Progressing", "startedAt": "2025-03-01T11:55:00Z"})
    assert comparison_window(started, NOW) == (
        [datetime(2025, 3, 1, 11, 55, tzinfo=UTC)],
        "since the rollout started 5m ago",
    )
    stepped = canary({"phase": "Progressing", "startedAt": "2025-03-01T11:55:00Z",
                      "stepStarts": ["2025-03-01T11:55:00Z", "2025-03-01T11:57:00Z"]})
    assert comparison_window(stepped, NOW)[0] == [
        datetime(2025, 3, 1, 11, 55, tzinfo=UTC), datetime(2025, 3, 1, 11, 57, tzinfo=UTC)
    ]
    done = canary({"phase": "Succeeded", "startedAt": "2025-03-01T11:55:00Z"})
    assert comparison_window(done, NOW) == (
        [NOW - timedelta(minutes=2)], "over the last 120s (a step interval)"
    )
    assert comparison_window(canary(), NOW)[0] == [NOW - timedelta(minutes=2)]


def test_a_comparisons_template_is_its_parts_and_it_has_no_single_query() -> None:
    spec = canary().spec
    template = gate_template(ERRORS)
    assert template.count("\n") == 1 and "envoy_response_code_class" in template
    with pytest.raises(ValueError, match="is a comparison"):
        render_gate(ERRORS, spec, namespace="shop", name="api")
    stable = comparison_variables(
        LATENCY, spec, namespace="shop", name="api", window=timedelta(minutes=5), side=Side.STABLE
    )
    assert (stable.canary_service, stable.interval) == ("api-v1", "300s")
    (buckets,) = render_comparison(
        LATENCY, spec, namespace="shop", name="api", window=timedelta(minutes=5), side=Side.STABLE
    ).values()
    assert 'envoy_cluster_name="shop_api-v1_8080"' in buckets and "[300s]" in buckets


class FakeSampler:
    """The operator's sampler as `check` uses it, answering from fixed samples; its provider
    says no series exist and lists none."""

    def __init__(self, kube: object, default_address: str) -> None:
        self.since: datetime | None = None
        self.asked: list[str] = []

    async def sample(
        self, ns: str, name: str, spec: CanarySpec, *, only: Collection[str] | None = None
    ) -> tuple[tuple[MetricSample, ...], MetricSample | None]:
        analysis = spec.analysis
        assert analysis is not None
        return tuple(
            MetricSample.of(g.name, 1) if g.name == "reachable" else MetricSample.of(g.name, 99.9)
            for g in analysis.metrics if g.compare is None
        ), None

    async def compare(
        self, ns: str, name: str, spec: CanarySpec, *, steps: Sequence[datetime], now: datetime
    ) -> tuple[ComparisonSample, ...]:
        self.since = steps[0] if steps else None
        return (counted(), ComparisonSample("latency", SampleOutcome.NO_DATA, query="buckets: q"))

    async def provider_for(self, ns: str, analysis: Analysis) -> FakeSampler:
        return self

    async def query(self, metric: str, promql: str) -> MetricSample:
        self.asked.append(promql)
        return MetricSample.no_data(metric, query=promql)

    async def label_sets(self, promql: str) -> tuple[list[dict[str, str]], str]:
        return [], ""

    async def aclose(self) -> None:
        pass


async def test_check_runs_both_kinds_of_gate_and_diagnoses_a_quiet_comparison_on_both_sides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(preflight, "GateSampler", FakeSampler)
    found = await preflight._metrics(object(), canary(), None, 25)  # type: ignore[arg-type]
    subjects = [(f.subject, f.severity) for f in found]
    assert subjects[:4] == [
        ("prometheus", Severity.OK),
        ("metric success-rate", Severity.OK),
        ("metric errors", Severity.OK),
        ("metric latency", Severity.BLOCKER),
    ]
    absent = {f.subject: f.message for f in found[4:]}
    assert set(absent) == {"metric latency (canary)", "metric latency (stable)"}
    assert 'shop_api-v2_8080' in absent["metric latency (canary)"]
    assert 'shop_api-v1_8080' in absent["metric latency (stable)"]
    assert "no traffic yet" not in absent["metric latency (stable)"]
