"""The weighted split through the real Envoy: what the API declares is what clients get."""

from __future__ import annotations

import asyncio
import time

import pytest
from harness.gateway import backend, gateway, http_route, prometheus_samples
from harness.sandbox_gateway import Sandbox, route_weights
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.gateway import register_backend
from canary.sandbox.loadgen import LoadGenerator, send, split_p_value

pytestmark = pytest.mark.integration

# Significance level of the split tests: a correct split fails one run in a thousand.
ALPHA = 0.001


async def _serve_route(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp], weights: list[int]
) -> str:
    """Register v1/v2 as Services, declare a Gateway and a weighted route; return the URL."""
    for app in apps:
        await register_backend(kube, namespace, f"app-{app.version}", 80, app.port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app-v1", weights[0]), backend("app-v2", weights[1])]}]
    route = http_route(namespace, "app", parent={"name": "gw"}, rules=rules)
    await kube.create(HTTPROUTE, route, namespace)
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)
    expected = {f"{namespace}/app-v1/80": weights[0], f"{namespace}/app-v2/80": weights[1]}

    async def programmed() -> bool:
        return route_weights(sandbox.controller.envoy, f"{namespace}/gw/80") == expected

    await eventually(programmed, what=f"Envoy running weights {expected}")
    return url


def _upstream_requests(text: str, namespace: str) -> dict[str, float]:
    """Envoy's `envoy_cluster_upstream_rq` per version of our Services (all response codes)."""
    out: dict[str, float] = {}
    for labels, value in prometheus_samples(text, "envoy_cluster_upstream_rq"):
        cluster = labels.get("envoy_cluster_name", "")
        if cluster.startswith(f"{namespace}/app-"):
            version = cluster.split("/")[1].removeprefix("app-")
            out[version] = out.get(version, 0.0) + value
    return out


async def test_a_90_10_route_splits_2000_requests_as_declared_and_envoy_counts_agree(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    url = await _serve_route(kube, sandbox, namespace, apps, [90, 10])
    envoy = sandbox.controller.envoy
    before = _upstream_requests(await envoy.prometheus_stats(), namespace)

    tally = await send(url, 2000, connections=4)

    assert dict(tally.by_status) == {200: 2000}
    p_value = split_p_value(tally, "v2", {"v1": 90, "v2": 10})
    assert p_value > ALPHA, f"split {dict(tally.by_version)} unlikely under 90/10 (p={p_value})"
    after = _upstream_requests(await envoy.prometheus_stats(), namespace)
    seen_by_envoy = {v: after.get(v, 0.0) - before.get(v, 0.0) for v in ("v1", "v2")}
    assert seen_by_envoy == {v: float(tally.by_version[v]) for v in ("v1", "v2")}


async def test_a_weight_change_in_the_api_server_reaches_keepalive_clients_at_once(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    url = await _serve_route(kube, sandbox, namespace, apps, [100, 0])
    stat = f"http.{namespace}/gw/80.downstream_cx_total"
    connections_before = (await sandbox.controller.envoy.stats(f"^{stat}$")).get(stat, 0)
    async with LoadGenerator(url, rate=200, connections=1) as load:
        await load.wait_for(20)
        assert set(load.tally().by_version) == {"v1"}

        changed_at = time.monotonic()
        patch = [
            {"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 0},
            {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 100},
        ]
        await kube.patch(HTTPROUTE, "app", patch, namespace=namespace, patch_type="json")

        async def first_v2() -> float | None:
            answered = [r for r in load.results(changed_at) if r.version == "v2"]
            return min((r.started + r.latency for r in answered), default=None)

        switched_at = await eventually(first_v2, within=10, what="a v2 answer")
        await load.wait_for(50, since=switched_at)
        after_switch = load.tally(since=switched_at)

    assert dict(after_switch.by_version) == {"v2": after_switch.total}
    assert switched_at - changed_at < 5, "weights took too long to reach Envoy"
    connections = (await sandbox.controller.envoy.stats(f"^{stat}$")).get(stat, 0)
    assert connections == int(connections_before) + 1, "the client had to reconnect"
