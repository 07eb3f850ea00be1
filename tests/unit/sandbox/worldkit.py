"""Builders for `World` snapshots used by the sandbox gateway's unit tests."""

from __future__ import annotations

from typing import Any

from canary.sandbox.gateway.world import World, key_of

CONTROLLER = "canary-operator.io/sandbox-gateway"
GROUP = "gateway.networking.k8s.io"
JsonObj = dict[str, Any]


def obj(kind: str, name: str, namespace: str = "", **fields: Any) -> JsonObj:
    meta: JsonObj = {"name": name, "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z"}
    if namespace:
        meta["namespace"] = namespace
    meta.update(fields.pop("metadata", {}))
    return {"kind": kind, "metadata": meta, **fields}


def gateway(
    name: str = "gw", namespace: str = "infra", listeners: list[JsonObj] | None = None
) -> JsonObj:
    listeners = listeners or [{"name": "http", "port": 80, "protocol": "HTTP"}]
    return obj(
        "Gateway", name, namespace, spec={"gatewayClassName": "sandbox", "listeners": listeners}
    )


def route(
    name: str = "web",
    namespace: str = "infra",
    *,
    rules: list[JsonObj],
    parent: JsonObj | None = None,
    hostnames: list[str] | None = None,
    created: str = "2026-01-01T00:00:00Z",
    status: JsonObj | None = None,
) -> JsonObj:
    spec: JsonObj = {"parentRefs": [parent or {"name": "gw", "namespace": "infra"}], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    out = obj("HTTPRoute", name, namespace, spec=spec, metadata={"creationTimestamp": created})
    if status is not None:
        out["status"] = status
    return out


def service(name: str, namespace: str = "infra", port: int = 80) -> JsonObj:
    return obj("Service", name, namespace, spec={"ports": [{"name": "http", "port": port}]})


def endpoint_slice(
    service_name: str,
    namespace: str = "infra",
    *,
    addresses: list[str],
    port: int,
    ready: bool = True,
) -> JsonObj:
    return obj(
        "EndpointSlice",
        f"{service_name}-x",
        namespace,
        metadata={"labels": {"kubernetes.io/service-name": service_name}},
        addressType="IPv4",
        endpoints=[{"addresses": addresses, "conditions": {"ready": ready}}],
        ports=[{"name": "http", "port": port}],
    )


def world(*objects: JsonObj, namespace_labels: dict[str, dict[str, str]] | None = None) -> World:
    """A world with our GatewayClass `sandbox`, the namespaces used, and `objects`."""
    buckets: dict[str, dict[tuple[str, str], JsonObj]] = {
        "gateway_classes": {
            ("", "sandbox"): obj("GatewayClass", "sandbox", spec={"controllerName": CONTROLLER})
        },
        "gateways": {},
        "routes": {},
        "services": {},
        "endpoint_slices": {},
        "reference_grants": {},
        "namespaces": {},
    }
    field = {
        "Gateway": "gateways",
        "HTTPRoute": "routes",
        "Service": "services",
        "EndpointSlice": "endpoint_slices",
        "ReferenceGrant": "reference_grants",
        "GatewayClass": "gateway_classes",
    }
    for item in objects:
        buckets[field[item["kind"]]][key_of(item)] = item
    for ns, labels in (namespace_labels or {}).items():
        buckets["namespaces"][("", ns)] = obj("Namespace", ns, metadata={"labels": labels})
    return World(CONTROLLER, **buckets)


def backend(name: str, weight: int | None = None, **extra: Any) -> JsonObj:
    out: JsonObj = {"name": name, "port": 80, **extra}
    if weight is not None:
        out["weight"] = weight
    return out
