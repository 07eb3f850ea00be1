"""Our own sandbox gateway controller (canary/sandbox/gateway) in tests: only its own tests use
it (tests/integration/sandbox/test_sandbox_*); every other suite runs on the real Contour
(tests/harness/contour.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from canary.kube.client import Kube
from canary.kube.resources import GATEWAYCLASS
from canary.sandbox.gateway import GatewayController, sandbox_gateway
from canary.sandbox.gateway.envoy import Envoy
from harness.gateway import JsonObj, route_condition_is
from harness.manifests import gateway_class_manifest


@dataclass(frozen=True)
class Sandbox:
    """A running gateway controller + Envoy, and the GatewayClass it owns."""

    controller: GatewayController
    class_name: str
    controller_name: str


@asynccontextmanager
async def served_gateway_class(
    kube: Kube, name: str, controller_name: str, *, workdir: Path, keep: bool = False
) -> AsyncIterator[GatewayController]:
    """A GatewayClass served by the sandbox gateway controller (a real Envoy behind it);
    deleted afterwards unless `keep`."""
    await kube.create(GATEWAYCLASS, gateway_class_manifest(name, controller_name))
    try:
        async with sandbox_gateway(
            kube, workdir=workdir, controller_name=controller_name
        ) as controller:
            yield controller
    finally:
        if not keep:
            await kube.delete(GATEWAYCLASS, name)


async def route_reports(
    kube: Kube, sandbox: Sandbox, namespace: str, type_: str, status: str, reason: str,
    *, name: str = "app",
) -> JsonObj:
    """Wait until our parent entry of route `name` has condition `type_`=`status`/`reason`."""
    return await route_condition_is(
        kube, namespace, name, sandbox.controller_name, type_=type_, status=status, reason=reason
    )


async def route_accepted(kube: Kube, sandbox: Sandbox, namespace: str, name: str = "app") -> None:
    """Wait for Accepted=True: the pass that wrote it had already pushed the route to Envoy."""
    await route_condition_is(
        kube,
        namespace,
        name,
        sandbox.controller_name,
        type_="Accepted",
        status="True",
        reason="Accepted",
    )


def route_weights(envoy: Envoy, listener_name: str) -> dict[str, int]:
    """The cluster weights Envoy confirmed for the first route of the catch-all virtual host."""
    config = envoy.running.route_configs.get(listener_name)
    if not config:
        return {}
    for vhost in config["virtual_hosts"]:
        for route in vhost["routes"]:
            clusters = route.get("route", {}).get("weighted_clusters", {}).get("clusters", [])
            return {c["name"]: int(c["weight"]) for c in clusters}
    return {}
