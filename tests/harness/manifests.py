"""The manifests every suite builds: GatewayClass, Gateway, Service, a two-backend HTTPRoute, a
Canary and its metric gate. (The controllers that serve them: tests/harness/contour.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from canary.kube.client import Kube
from canary.kube.resources import CANARY, GATEWAY, GATEWAYCLASS, HTTPROUTE, JsonObj

HTTP_LISTENER: JsonObj = {"name": "http", "port": 80, "protocol": "HTTP"}


def gateway_class_manifest(name: str, controller_name: str) -> JsonObj:
    return {
        "apiVersion": GATEWAYCLASS.api_version,
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller_name},
    }


def gateway_manifest(
    namespace: str, class_name: str, *, name: str = "gw", listeners: list[JsonObj] | None = None
) -> JsonObj:
    return {
        "apiVersion": GATEWAY.api_version,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": class_name, "listeners": listeners or [dict(HTTP_LISTENER)]},
    }


def service_manifest(name: str) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 8080, "name": "http"}], "selector": {"app": name}},
    }


def split_route_manifest(
    namespace: str, name: str, *, stable: str, canary: str, hostname: str
) -> JsonObj:
    """An HTTPRoute on Gateway `gw` with one rule: all traffic to `stable`, none to `canary`."""
    return {
        "apiVersion": HTTPROUTE.api_version,
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "hostnames": [hostname],
            "rules": [
                {
                    "backendRefs": [
                        {"name": stable, "port": 8080, "weight": 100},
                        {"name": canary, "port": 8080, "weight": 0},
                    ]
                }
            ],
        },
    }


def gate(query: str, *, failure_threshold: int = 2, interval: str | None = "5s") -> JsonObj:
    """An analysis with one `success-rate` metric that passes at 99 or more."""
    metric: JsonObj = {"name": "success-rate", "query": query, "min": 99}
    if interval is not None:
        metric["interval"] = interval
    return {"failureThreshold": failure_threshold, "metrics": [metric]}


def canary_manifest(
    namespace: str,
    *,
    name: str = "api",
    route_name: str = "api-route",
    stable_service: str = "api-svc-v1",
    canary_service: str = "api-svc-v2",
    weights: Sequence[int] = (5, 25, 50, 75),
    interval: str = "1s",
    analysis: JsonObj,
    labels: dict[str, str] | None = None,
    **spec_overrides: Any,
) -> JsonObj:
    """A Canary; `spec_overrides` replace whole spec fields (`steps`, `stable`, `paused`...)."""
    metadata: JsonObj = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    spec: JsonObj = {
        "routeRef": {"name": route_name},
        "stable": {"name": stable_service, "port": 8080},
        "canary": {"name": canary_service, "port": 8080},
        "steps": {"weights": list(weights), "interval": interval},
        "analysis": analysis,
    }
    spec.update(spec_overrides)
    return {"apiVersion": CANARY.api_version, "kind": "Canary", "metadata": metadata, "spec": spec}


async def create_all(kube: Kube, namespace: str, manifests: Sequence[tuple[Any, JsonObj]]) -> None:
    for resource, body in manifests:
        await kube.create(resource, body, namespace)
