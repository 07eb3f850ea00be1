"""Manifests and polling helpers for the sandbox gateway tests (no assertions live here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE
from canary.sandbox.gateway import GatewayController
from canary.sandbox.gateway.envoy import Envoy
from harness.manifests import gateway_manifest
from harness.waiting import eventually

JsonObj = dict[str, Any]
GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Sandbox:
    """A running gateway controller + Envoy, and the GatewayClass it owns."""

    controller: GatewayController
    class_name: str
    controller_name: str


def listener(
    name: str = "http",
    port: int = 80,
    *,
    hostname: str | None = None,
    allowed: JsonObj | None = None,
    protocol: str = "HTTP",
) -> JsonObj:
    out: JsonObj = {"name": name, "port": port, "protocol": protocol}
    if hostname:
        out["hostname"] = hostname
    if allowed is not None:
        out["allowedRoutes"] = {"namespaces": allowed}
    return out


def gateway(
    namespace: str, name: str, class_name: str, listeners: list[JsonObj] | None = None
) -> JsonObj:
    return gateway_manifest(namespace, class_name, name=name, listeners=listeners)


def backend(name: str, weight: int | None = None, *, port: int = 80, **extra: Any) -> JsonObj:
    out: JsonObj = {"name": name, "port": port, **extra}
    if weight is not None:
        out["weight"] = weight
    return out


def http_route(
    namespace: str,
    name: str,
    *,
    parent: JsonObj,
    rules: list[JsonObj],
    hostnames: list[str] | None = None,
) -> JsonObj:
    spec: JsonObj = {"parentRefs": [parent], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


async def route_conditions(
    kube: Kube, namespace: str, name: str, controller_name: str
) -> dict[str, JsonObj] | None:
    """Our parent entry's conditions by type (first parent), or None before we wrote any."""
    route = await kube.get(HTTPROUTE, name, namespace)
    for parent in (route.get("status") or {}).get("parents") or []:
        if parent.get("controllerName") == controller_name:
            return {c["type"]: c for c in parent.get("conditions") or []}
    return None


async def route_condition_is(
    kube: Kube,
    namespace: str,
    name: str,
    controller_name: str,
    *,
    type_: str,
    status: str,
    reason: str,
) -> JsonObj:
    async def check() -> JsonObj | None:
        conditions = await route_conditions(kube, namespace, name, controller_name) or {}
        cond = conditions.get(type_)
        if cond and cond["status"] == status and cond["reason"] == reason:
            return cond
        return None

    return await eventually(check, what=f"{namespace}/{name} {type_}={status}/{reason}")


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


async def gateway_programmed(kube: Kube, namespace: str, name: str) -> JsonObj:
    async def check() -> JsonObj | None:
        gw = await kube.get(GATEWAY, name, namespace)
        conds = {c["type"]: c for c in (gw.get("status") or {}).get("conditions") or []}
        programmed = conds.get("Programmed", {})
        return gw if programmed.get("status") == "True" else None

    return await eventually(check, what=f"Gateway {namespace}/{name} Programmed=True")


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


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def prometheus_samples(text: str, metric: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one metric in Prometheus text format, as (labels, value) pairs."""
    out = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == metric:
            out.append((dict(_LABEL.findall(match["labels"] or "")), float(match["value"])))
    return out
