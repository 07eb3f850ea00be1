"""The Envoy runner: confirmed pushes, loud rejections, 500s where the Gateway API wants them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness.gateway import backend, gateway, http_route
from harness.sandbox_gateway import Sandbox, route_accepted

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.gateway import Envoy, EnvoyConfig, EnvoyRejected, register_backend
from canary.sandbox.gateway.backends import cluster_config
from canary.sandbox.gateway.world import World
from canary.sandbox.loadgen import send, split_p_value
from canary.sandbox.processes import free_port

pytestmark = pytest.mark.integration
ALPHA = 0.001


def _static_config(port: int, listen: int, weights: list[int]) -> EnvoyConfig:
    cluster = cluster_config(World("test"), "ns/app/80")  # no endpoints yet
    cluster["load_assignment"]["endpoints"] = [
        {
            "lb_endpoints": [
                {
                    "endpoint": {
                        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}
                    }
                }
            ]
        }
    ]
    clusters = [{"name": "ns/app/80", "weight": w} for w in weights]
    route = {
        "name": "ns/gw/80",
        "virtual_hosts": [
            {
                "name": "*",
                "domains": ["*"],
                "routes": [
                    {
                        "name": "r",
                        "match": {"prefix": "/"},
                        "route": {"weighted_clusters": {"clusters": clusters}},
                    }
                ],
            }
        ],
    }
    return EnvoyConfig({"ns/gw/80": listen}, {"ns/gw/80": route}, {"ns/app/80": cluster})


async def test_an_update_envoy_rejects_raises_and_the_previous_routes_keep_serving(
    tmp_path: Path,
) -> None:
    async with DemoApp("v1", log_dir=tmp_path) as app, Envoy(tmp_path / "envoy") as envoy:
        listen = free_port()
        good = _static_config(app.port, listen, [1])
        await envoy.apply(good)

        with pytest.raises(EnvoyRejected, match="Sum of weights"):
            await envoy.apply(_static_config(app.port, listen, [0]))

        assert envoy.running == good
        tally = await send(f"http://127.0.0.1:{listen}/", 10)
        assert dict(tally.by_version) == {"v1": 10}
        # The files on disk were restored, so the next change starts from what Envoy runs.
        await envoy.apply(_static_config(app.port, listen, [2]))


async def test_a_rule_whose_weights_are_all_zero_answers_500_and_envoy_stays_programmed(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    await register_backend(kube, namespace, "app", 80, apps[0].port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    route = http_route(
        namespace, "app", parent={"name": "gw"}, rules=[{"backendRefs": [backend("app", 0)]}]
    )
    await kube.create(HTTPROUTE, route, namespace)
    await route_accepted(kube, sandbox, namespace)
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)

    tally = await send(url, 20)

    assert dict(tally.by_status) == {500: 20}
    assert sandbox.controller.programmed.ok


async def test_the_share_of_an_invalid_backend_answers_500_and_the_rest_reaches_the_valid_one(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    await register_backend(kube, namespace, "app", 80, apps[0].port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app", 70), backend("missing", 30)]}]
    await kube.create(
        HTTPROUTE, http_route(namespace, "app", parent={"name": "gw"}, rules=rules), namespace
    )
    await route_accepted(kube, sandbox, namespace)
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)

    tally = await send(url, 1000)

    assert set(tally.by_status) == {200, 500}
    assert tally.by_version["v1"] == tally.by_status[200]
    tally.by_version["invalid"] = tally.by_status[500]  # the proxy's own 500s name no version
    p_value = split_p_value(tally, "v1", {"v1": 70, "invalid": 30})
    assert p_value > ALPHA, f"{dict(tally.by_status)} unlikely under 70/30 (p={p_value})"
