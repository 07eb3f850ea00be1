"""The sandbox Prometheus and exporter themselves: reload, clean stop, honest exposition."""

from __future__ import annotations

import pytest
from harness.procs import wait_dead

from canary.sandbox.exporter import Exporter, Traffic
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget

pytestmark = pytest.mark.integration


def test_targets_can_be_added_by_reload_and_stop_leaves_nothing_behind() -> None:
    with Exporter() as exporter:
        server = PrometheusServer(scrape_interval="1s").start()
        try:
            pid, workdir = server.pid, server.workdir
            server.set_targets([ScrapeTarget(exporter.target, job="late")])
            server.wait_until_scraped(timeout=90)
            assert (workdir / "prometheus.yml").read_text().count(exporter.target) == 1
        finally:
            server.stop()
    assert wait_dead([pid], every=0.05) == []
    assert not workdir.exists()


def test_counters_grow_at_the_set_rate_and_error_series_appear_with_the_first_error() -> None:
    exporter = Exporter()  # rendering needs no server
    exporter.app_service("shop", "web", Traffic(rps=1000))
    first = exporter.render()
    assert 'code="500"' not in first
    assert "# TYPE http_request_duration_seconds histogram" in first
    assert "# TYPE http_requests_total counter" in first

    exporter.app_service("shop", "web", Traffic(rps=1000, error_ratio=0.1))
    lines = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in exporter.render().splitlines()
        if not line.startswith("#")
    }
    ok = lines['http_requests_total{code="200",namespace="shop",service="web"}']
    failed = lines['http_requests_total{code="500",namespace="shop",service="web"}']
    assert ok > failed >= 0


def test_label_values_are_escaped_in_the_exposition() -> None:
    exporter = Exporter()
    exporter.set_gauge("probe", {"name": 'a"b\\c\nd'}, float("nan"))
    assert exporter.render() == '# TYPE probe gauge\nprobe{name="a\\"b\\\\c\\nd"} NaN\n'
