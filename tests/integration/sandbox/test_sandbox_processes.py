"""The sandbox's demo apps, load generator, Contour and its Envoy: behaviour while running, and
clean stops."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from harness.gateway import prometheus_samples
from harness.procs import alive

from canary.sandbox.contour import Contour, ContourEnvoy, GatewayRef
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.loadgen import LoadGenerator, send

pytestmark = pytest.mark.integration


async def test_the_demo_app_error_rate_and_latency_change_while_it_runs(tmp_path: Path) -> None:
    async with DemoApp("v3", log_dir=tmp_path) as app:
        healthy = await send(app.url + "/", 20)
        await app.set_faults(error_rate=1.0, latency=0.2)
        started = time.monotonic()
        failing = await send(app.url + "/", 8, connections=8)
        elapsed = time.monotonic() - started
        restored = await app.set_faults(error_rate=0.0, latency=0.0)

    assert dict(healthy.by_status) == {200: 20}
    assert dict(failing.by_status) == {500: 8}
    assert dict(failing.by_version) == {"v3": 8}
    assert elapsed >= 0.2
    assert (restored.error_rate, restored.latency) == (0.0, 0.0)


async def test_the_demo_app_refuses_an_error_rate_above_one(tmp_path: Path) -> None:
    async with DemoApp("v1", log_dir=tmp_path) as app:
        with pytest.raises(ValueError, match="error_rate"):
            await app.set_faults(error_rate=1.5)
        assert (await app.faults()).error_rate == 0.0


async def test_the_demo_app_metrics_count_answers_by_code_and_latency_buckets(
    tmp_path: Path,
) -> None:
    async with DemoApp("v2", error_rate=1.0, log_dir=tmp_path) as app:
        await send(app.url + "/", 5)
        await app.set_faults(error_rate=0.0)
        await send(app.url + "/", 7)
        async with aiohttp.ClientSession() as session, session.get(app.url + "/metrics") as resp:
            text = await resp.text()

    codes = {
        labels["code"]: value for labels, value in prometheus_samples(text, "http_requests_total")
    }
    assert codes == {"200": 7.0, "500": 5.0}
    buckets = prometheus_samples(text, "http_request_duration_seconds_bucket")
    assert {labels["le"]: value for labels, value in buckets}["+Inf"] == 12.0


async def test_the_load_generator_holds_its_rate_over_keepalive_connections(tmp_path: Path) -> None:
    rate = 100
    async with DemoApp("v1", log_dir=tmp_path) as app:
        async with LoadGenerator(app.url + "/", rate=rate) as load:
            tally = await load.wait_for(150)
        results = sorted(load.results(), key=lambda r: r.started)

    assert tally.by_version["v1"] >= 150
    assert load.dropped == 0
    assert load.started_at is not None
    # Request k never starts before its slot (never faster than the rate), and a late loop
    # catches up instead of drifting: the 150th starts within a generous margin of its slot.
    assert all(r.started >= load.started_at + (k + 1) / rate - 1e-6 for k, r in enumerate(results))
    assert results[149].started - load.started_at <= 150 / rate + 1.5


async def test_stopping_contour_its_envoy_and_a_demo_app_leaves_no_process_behind(
    control_plane: ControlPlane | ExistingCluster, namespace: str, tmp_path: Path
) -> None:
    gateway = GatewayRef(namespace, "gw")
    async with (
        DemoApp("v1", log_dir=tmp_path) as app,
        Contour(control_plane.kubeconfig, gateway, tmp_path / "contour") as contour,
        ContourEnvoy(contour, tmp_path / "envoy") as envoy,
    ):
        pids = [app.pid, contour.pid, envoy.pid]
        assert all(pid is not None and alive(pid) for pid in pids)
    assert [pid for pid in pids if pid is not None and alive(pid)] == []
