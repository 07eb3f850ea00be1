"""Gateway API manifests and status polling helpers, for any controller (no assertions live
here)."""

from __future__ import annotations

import re
from typing import Any

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE
from harness.manifests import gateway_manifest
from harness.waiting import eventually

JsonObj = dict[str, Any]
GROUP = "gateway.networking.k8s.io"


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
    """The conditions by type of the parent entry `controller_name` wrote (the first), or None
    before it wrote any."""
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


async def gateway_programmed(kube: Kube, namespace: str, name: str) -> JsonObj:
    async def check() -> JsonObj | None:
        gw = await kube.get(GATEWAY, name, namespace)
        conds = {c["type"]: c for c in (gw.get("status") or {}).get("conditions") or []}
        programmed = conds.get("Programmed", {})
        return gw if programmed.get("status") == "True" else None

    return await eventually(check, what=f"Gateway {namespace}/{name} Programmed=True")


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
