"""Resolve HTTPRoute backendRefs to Envoy clusters: the `ResolvedRefs` rules and the endpoints.

One cluster per Service port, named `namespace/service/port` (a `/` survives in Envoy's
Prometheus stats, a `.` would be split into tags). Pure: reads a `World`, never the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from canary.sandbox.gateway.world import GATEWAY_GROUP, JsonObj, World, key_of

# The API server refuses loopback addresses in EndpointSlices, so the sandbox registers local
# processes as 192.0.2.N (TEST-NET-1, RFC 5737: documentation only, never routed) and Envoy
# dials 127.0.0.N instead. Any other address is used as written.
STAND_IN_PREFIX, LOOPBACK_PREFIX = "192.0.2.", "127.0.0."


def stand_in_address(loopback: str) -> str:
    """The EndpointSlice address that stands for a loopback address (127.0.0.N → 192.0.2.N)."""
    if not loopback.startswith(LOOPBACK_PREFIX):
        raise ValueError(f"{loopback} is not a 127.0.0.N address")
    return STAND_IN_PREFIX + loopback.removeprefix(LOOPBACK_PREFIX)


def dialled_address(address: str) -> str:
    """The address Envoy connects to for an EndpointSlice address."""
    if address.startswith(STAND_IN_PREFIX):
        return LOOPBACK_PREFIX + address.removeprefix(STAND_IN_PREFIX)
    return address


class RefReason(StrEnum):
    """Reasons of a route parent's `ResolvedRefs` condition (Gateway API standard names)."""

    RESOLVED_REFS = "ResolvedRefs"
    BACKEND_NOT_FOUND = "BackendNotFound"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_KIND = "InvalidKind"


@dataclass(frozen=True)
class ResolvedBackend:
    """One backendRef after resolution; `cluster` is None when requests to it must get a 500."""

    cluster: str | None
    weight: int
    reason: RefReason
    message: str = ""


def cluster_name(namespace: str, service: str, port: int) -> str:
    return f"{namespace}/{service}/{port}"


def resolve(world: World, route_ns: str, ref: JsonObj) -> ResolvedBackend:
    weight = int(ref.get("weight", 1))
    group, kind = ref.get("group", ""), ref.get("kind", "Service")
    name, namespace = str(ref.get("name", "")), str(ref.get("namespace") or route_ns)
    if group != "" or kind != "Service":
        return ResolvedBackend(
            None, weight, RefReason.INVALID_KIND, f"unsupported backend kind {kind!r}"
        )
    if namespace != route_ns and not _granted(world, route_ns, namespace, name):
        return ResolvedBackend(
            None,
            weight,
            RefReason.REF_NOT_PERMITTED,
            f"no ReferenceGrant in {namespace!r} allows HTTPRoutes from {route_ns!r} "
            f"to Service {name!r}",
        )
    service = world.service(namespace, name)
    if service is None:
        return ResolvedBackend(
            None, weight, RefReason.BACKEND_NOT_FOUND, f"Service {namespace}/{name} not found"
        )
    port = ref.get("port")
    if port is None or _service_port(service, int(port)) is None:
        return ResolvedBackend(
            None,
            weight,
            RefReason.BACKEND_NOT_FOUND,
            f"Service {namespace}/{name} has no port {port}",
        )
    return ResolvedBackend(
        cluster_name(namespace, name, int(port)), weight, RefReason.RESOLVED_REFS
    )


def route_refs(world: World, route: JsonObj) -> tuple[RefReason, str]:
    """The route's `ResolvedRefs` outcome: the first backendRef that fails, else resolved."""
    route_ns, _ = key_of(route)
    for rule in route.get("spec", {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            backend = resolve(world, route_ns, ref)
            if backend.cluster is None:
                return backend.reason, backend.message
    return RefReason.RESOLVED_REFS, "all backend references resolved"


def _granted(world: World, from_ns: str, to_ns: str, service: str) -> bool:
    for grant in world.grants_in(to_ns):
        spec = grant.get("spec", {})
        from_ok = any(
            f.get("group") == GATEWAY_GROUP
            and f.get("kind") == "HTTPRoute"
            and f.get("namespace") == from_ns
            for f in spec.get("from") or []
        )
        to_ok = any(
            t.get("group", "") == ""
            and t.get("kind") == "Service"
            and t.get("name") in (None, "", service)
            for t in spec.get("to") or []
        )
        if from_ok and to_ok:
            return True
    return False


def _service_port(service: JsonObj, port: int) -> JsonObj | None:
    for entry in service.get("spec", {}).get("ports") or []:
        if entry.get("port") == port:
            return dict(entry)
    return None


def endpoints(world: World, cluster: str) -> list[tuple[str, int]]:
    """Ready addresses and target ports of a cluster's Service port, from its EndpointSlices."""
    namespace, name, port_text = cluster.split("/")
    service = world.service(namespace, name)
    service_port = _service_port(service, int(port_text)) if service else None
    if service_port is None:
        return []
    port_name = service_port.get("name") or ""
    found: list[tuple[str, int]] = []
    for eps in world.slices_for(namespace, name):
        if eps.get("addressType") not in ("IPv4", "IPv6"):
            continue
        numbers = [
            int(p["port"])
            for p in eps.get("ports") or []
            if (p.get("name") or "") == port_name and p.get("port") is not None
        ]
        for endpoint in eps.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            addresses = [dialled_address(str(a)) for a in endpoint.get("addresses") or []]
            found += [(addr, num) for addr in addresses for num in numbers]
    return sorted(set(found))


def cluster_config(world: World, cluster: str) -> JsonObj:
    """A STATIC Envoy cluster with the Service port's current endpoints (possibly none)."""
    lb_endpoints = [
        {"endpoint": {"address": {"socket_address": {"address": addr, "port_value": port}}}}
        for addr, port in endpoints(world, cluster)
    ]
    return {
        "name": cluster,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": cluster, "endpoints": [{"lb_endpoints": lb_endpoints}]},
    }
