"""Operator metrics: what a written status, a reconcile or an API error becomes in the scrape,
read back through prometheus-client's own exposition (and over HTTP for the served endpoint)."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from canary.api.status import CanaryStatus, MetricOutcome, MetricResult, MetricVerdict, Phase
from canary.sandbox.processes import LOOPBACK, free_port
from canary.telemetry.metrics import OperatorMetrics, serve_metrics

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def scrape(metrics: OperatorMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: OperatorMetrics, name: str, **labels: str) -> float | None:
    return scrape(metrics).get((name, frozenset(labels.items())))


def result(name: str, verdict: MetricVerdict, at: dt.datetime = T0) -> MetricResult:
    return MetricResult(name=name, outcome=MetricOutcome.VALUE, value=1, verdict=verdict, time=at)


def status(phase: Phase, *, weight: int = 0, step: int = 0, **more: object) -> CanaryStatus:
    return CanaryStatus(
        phase=phase, canary_weight=weight, stable_weight=100 - weight, current_step=step,
        total_steps=4, **more,
    )


@pytest.fixture
def metrics() -> OperatorMetrics:
    return OperatorMetrics(CollectorRegistry())


def test_written_status_sets_weight_step_and_exactly_one_phase(metrics: OperatorMetrics) -> None:
    metrics.record_status("shop", "api", old=status(Phase.PENDING),
                          new=status(Phase.PROGRESSING, weight=25, step=2))
    labels = {"namespace": "shop", "canary": "api"}
    assert value(metrics, "canary_operator_canary_weight_percent", **labels) == 25
    assert value(metrics, "canary_operator_canary_step", **labels) == 2
    assert value(metrics, "canary_operator_canary_steps", **labels) == 4
    phases = {p: value(metrics, "canary_operator_canary_phase", **labels, phase=str(p))
              for p in Phase}
    assert phases == {p: (1.0 if p is Phase.PROGRESSING else 0.0) for p in Phase}


def test_check_results_are_counted_once_per_check_by_verdict(metrics: OperatorMetrics) -> None:
    before = status(Phase.PROGRESSING, weight=5, step=1)
    checked = before.model_copy(update={
        "last_check_time": T0,
        "metrics": (result("success-rate", MetricVerdict.PASS),
                    result("latency", MetricVerdict.INCONCLUSIVE)),
        "request_count": result("minRequests", MetricVerdict.FAIL),
    })
    metrics.record_status("shop", "api", old=before, new=checked)
    metrics.record_status("shop", "api", old=checked, new=checked)  # same check, status rewritten
    name = "canary_operator_metric_checks_total"
    base = {"namespace": "shop", "canary": "api"}
    assert value(metrics, name, **base, metric="success-rate", verdict="Pass") == 1
    assert value(metrics, name, **base, metric="latency", verdict="Inconclusive") == 1
    assert value(metrics, name, **base, metric="minRequests", verdict="Fail") == 1


def test_promotion_and_rollback_are_counted_on_the_transition_only(
    metrics: OperatorMetrics,
) -> None:
    promoting, done = status(Phase.PROMOTING, weight=100), status(Phase.SUCCEEDED, weight=100)
    metrics.record_status("shop", "api", old=promoting, new=done)
    metrics.record_status("shop", "api", old=done, new=done)
    metrics.record_status("shop", "web", old=status(Phase.PROGRESSING, weight=50),
                          new=status(Phase.ROLLED_BACK))
    assert value(metrics, "canary_operator_rollouts_promoted_total",
                 namespace="shop", canary="api") == 1
    assert value(metrics, "canary_operator_rollouts_rolled_back_total",
                 namespace="shop", canary="web") == 1
    assert value(metrics, "canary_operator_rollouts_rolled_back_total",
                 namespace="shop", canary="api") is None


def test_deleted_canary_leaves_no_gauges_behind(metrics: OperatorMetrics) -> None:
    metrics.record_status("shop", "api", old=status(Phase.PENDING),
                          new=status(Phase.PROGRESSING, weight=5, step=1))
    metrics.forget_canary("shop", "api")
    metrics.forget_canary("shop", "never-seen")
    leftovers = [name for name, labels in scrape(metrics)
                 if ("canary", "api") in labels and not name.endswith(("_total", "_created"))]
    assert leftovers == []


def test_reconciles_and_api_errors_are_recorded_by_their_labels(metrics: OperatorMetrics) -> None:
    metrics.record_reconcile("done", 0.02)
    metrics.record_reconcile("retry", 3.0)
    metrics.record_api_error("PATCH", 403)
    metrics.record_api_error("PATCH", 403)
    metrics.record_api_error("WATCH", 0)
    name = "canary_operator_reconcile_duration_seconds"
    assert value(metrics, f"{name}_count", result="done") == 1
    assert value(metrics, f"{name}_bucket", result="done", le="0.025") == 1
    assert value(metrics, f"{name}_bucket", result="retry", le="2.5") == 0
    assert value(metrics, "canary_operator_api_errors_total", verb="PATCH", code="403") == 2
    assert value(metrics, "canary_operator_api_errors_total", verb="WATCH", code="0") == 1


def test_queue_depth_and_watch_restarts_are_read_at_scrape_time(metrics: OperatorMetrics) -> None:
    assert value(metrics, "canary_operator_queue_depth") == 0
    depth = [3]
    metrics.watch_control_loop(
        queue_depth=lambda: depth[0],
        watch_restarts=lambda: [("canaries", "", 2), ("httproutes", "shop", 0)],
    )
    assert value(metrics, "canary_operator_queue_depth") == 3
    depth[0] = 7
    assert value(metrics, "canary_operator_queue_depth") == 7
    assert value(metrics, "canary_operator_watch_restarts_total",
                 resource="canaries", namespace="") == 2


def test_leader_gauge_follows_leadership(metrics: OperatorMetrics) -> None:
    metrics.set_leader(True)
    assert value(metrics, "canary_operator_leader") == 1
    metrics.set_leader(False)
    assert value(metrics, "canary_operator_leader") == 0


def test_metrics_are_served_over_http_until_stopped(metrics: OperatorMetrics) -> None:
    metrics.set_leader(True)
    port = free_port()
    stop = serve_metrics(metrics, address=LOOPBACK, port=port)
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
    finally:
        stop()
    assert "canary_operator_leader 1.0" in body
    assert "process_resident_memory_bytes" in body and "python_info" in body
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=2)
