"""The metric names are a contract: the Grafana dashboard queries only series the operator
exports and shows every one of them, and docs/install.md lists exactly those names."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from canary.api.status import CanaryStatus, MetricOutcome, MetricResult, MetricVerdict, Phase
from canary.telemetry.metrics import OperatorMetrics

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = json.loads((REPO / "dashboards" / "canary-operator.json").read_text())
NAME = re.compile(r"\bcanary_operator_[a-z_]+\b")


def exported() -> tuple[set[str], set[str]]:
    """(family names, sample names) after recording one of everything."""
    metrics = OperatorMetrics(CollectorRegistry())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    check = MetricResult(
        name="m", outcome=MetricOutcome.VALUE, value=1, verdict=MetricVerdict.PASS, time=now
    )
    metrics.record_status(
        "ns", "c", old=CanaryStatus(), new=CanaryStatus(phase=Phase.SUCCEEDED, last_check_time=now,
                                                        metrics=(check,)),
    )
    metrics.record_status("ns", "d", old=CanaryStatus(), new=CanaryStatus(phase=Phase.ROLLED_BACK))
    metrics.record_reconcile("done", 0.1)
    metrics.record_api_error("GET", 500)
    metrics.set_leader(True)
    metrics.watch_control_loop(queue_depth=lambda: 1, watch_restarts=lambda: [("canaries", "", 1)])
    text = generate_latest(metrics.registry).decode()
    # Ours only: not `*_created` (counter creation times, prometheus-client bookkeeping), nor
    # the standard process_*/python_* series.
    families = [
        f for f in text_string_to_metric_families(text)
        if f.name.startswith("canary_operator_") and not f.name.endswith("_created")
    ]
    return {f.name for f in families}, {s.name for f in families for s in f.samples}


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def test_dashboard_queries_only_exported_series() -> None:
    _, samples = exported()
    queried = {name for expr in expressions(DASHBOARD) for name in NAME.findall(expr)}
    assert queried, "the dashboard has no queries"
    assert queried - samples == set()


def test_dashboard_shows_every_exported_metric() -> None:
    families, _ = exported()
    text = json.dumps(DASHBOARD)
    assert {f for f in families if f not in text} == set()


def test_install_docs_list_exactly_the_exported_metrics() -> None:
    families, samples = exported()
    documented = set(NAME.findall((REPO / "docs" / "install.md").read_text()))
    assert documented - samples - families == set(), "docs name a metric that does not exist"
    missing = {f for f in families if f not in documented and f"{f}_total" not in documented}
    assert missing == set()
