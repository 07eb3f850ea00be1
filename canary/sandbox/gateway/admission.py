"""Which Gateway listeners admit which HTTPRoute parentRef, and why not: the `Accepted` rules.

Pure functions over a `World`: namespace policy (Same/All/Selector), route kinds, sectionName
and port, hostname intersection. No I/O; status conditions are built from this in `status.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from canary.sandbox.gateway.world import GATEWAY_GROUP, JsonObj, Key, World, key_of

SUPPORTED_PROTOCOLS = frozenset({"HTTP"})
ANY_HOST = "*"  # internal spelling of "no hostname restriction"


class AcceptedReason(StrEnum):
    """Reasons this gateway controller writes in a route parent's `Accepted` condition, as the
    Gateway API spec names them (what Envoy Gateway, Contour and Istio write too). Not
    `canary.api.RouteReason`: that is the operator's own `RouteAccepted` vocabulary, which
    carries these over when it reads them."""

    ACCEPTED = "Accepted"
    NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
    NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
    NO_MATCHING_PARENT = "NoMatchingParent"


@dataclass(frozen=True)
class Binding:
    """One listener a route is attached to, with the hostnames it serves there."""

    listener: str
    port: int
    hostnames: tuple[str, ...]


@dataclass(frozen=True)
class ParentResult:
    """The outcome for one of a route's parentRefs that points at one of our Gateways."""

    parent_ref: JsonObj
    gateway: Key
    reason: AcceptedReason
    message: str
    bindings: tuple[Binding, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.reason is AcceptedReason.ACCEPTED


def listener_supported(listener: JsonObj) -> bool:
    return str(listener.get("protocol", "")) in SUPPORTED_PROTOCOLS


def parent_results(world: World, route: JsonObj) -> list[ParentResult]:
    """One result per parentRef that names a Gateway of a class we own, in spec order."""
    route_ns, _ = key_of(route)
    results = []
    for ref in route.get("spec", {}).get("parentRefs") or []:
        if ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP or ref.get("kind", "Gateway") != (
            "Gateway"
        ):
            continue
        gw_key = (str(ref.get("namespace") or route_ns), str(ref["name"]))
        gateway = world.gateways.get(gw_key)
        if gateway is None or not world.owns_class(
            str(gateway.get("spec", {}).get("gatewayClassName", ""))
        ):
            continue
        results.append(_admit(world, route, ref, gateway))
    return results


def _admit(world: World, route: JsonObj, ref: JsonObj, gateway: JsonObj) -> ParentResult:
    route_ns, _ = key_of(route)
    gw_key = key_of(gateway)

    def result(
        reason: AcceptedReason, message: str, bindings: tuple[Binding, ...] = ()
    ) -> ParentResult:
        return ParentResult(dict(ref), gw_key, reason, message, bindings)

    section, port = ref.get("sectionName"), ref.get("port")
    candidates = [
        lst
        for lst in gateway.get("spec", {}).get("listeners") or []
        if (section is None or lst.get("name") == section)
        and (port is None or lst.get("port") == port)
    ]
    if not candidates:  # the spec's NoMatchingParent: sectionName/port name no listener
        where = f"named {section!r}" if section is not None else "matching the parentRef"
        where += f" on port {port}" if port is not None else ""
        return result(AcceptedReason.NO_MATCHING_PARENT, f"the Gateway has no listener {where}")
    supported = [lst for lst in candidates if listener_supported(lst)]
    if not supported:  # listeners exist, but none takes HTTPRoutes: NotAllowedByListeners
        return result(
            AcceptedReason.NOT_ALLOWED_BY_LISTENERS,
            f"no matching listener has a supported protocol ({', '.join(SUPPORTED_PROTOCOLS)})",
        )
    labels = world.namespace_labels(route_ns)
    admitted = [
        lst
        for lst in supported
        if kind_allowed(lst) and namespace_admitted(lst, gw_key[0], route_ns, labels)
    ]
    if not admitted:
        return result(
            AcceptedReason.NOT_ALLOWED_BY_LISTENERS,
            f"no matching listener allows HTTPRoutes from namespace {route_ns!r}",
        )
    route_hosts = [str(h) for h in route.get("spec", {}).get("hostnames") or []]
    bindings = tuple(
        Binding(str(lst["name"]), int(lst["port"]), hosts)
        for lst in admitted
        if (hosts := intersect_hostnames(lst.get("hostname"), route_hosts))
    )
    if not bindings:
        return result(
            AcceptedReason.NO_MATCHING_LISTENER_HOSTNAME,
            "no route hostname intersects a matching listener's hostname",
        )
    return result(AcceptedReason.ACCEPTED, "Route is accepted", bindings)


def kind_allowed(listener: JsonObj) -> bool:
    kinds = (listener.get("allowedRoutes") or {}).get("kinds")
    if not kinds:
        return True
    return any(
        k.get("kind") == "HTTPRoute" and k.get("group", GATEWAY_GROUP) == GATEWAY_GROUP
        for k in kinds
    )


def namespace_admitted(
    listener: JsonObj, gateway_ns: str, route_ns: str, labels: dict[str, str]
) -> bool:
    namespaces = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    origin = namespaces.get("from", "Same")
    if origin == "All":
        return True
    if origin == "Same":
        return route_ns == gateway_ns
    if origin == "Selector":
        return selector_matches(namespaces.get("selector"), labels)
    return False


def selector_matches(selector: JsonObj | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics: a missing selector matches nothing, `{}` everything."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(str(op), False)
        if not ok:
            return False
    return True


def _wildcard_covers(pattern: str, host: str) -> bool:
    """`*.example.com` covers `a.example.com`, `a.b.example.com` and `*.a.example.com`."""
    return pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern


def intersect_hostnames(listener_host: str | None, route_hosts: list[str]) -> tuple[str, ...]:
    """The hostnames a route serves on a listener; empty when they do not intersect."""
    if not listener_host:
        return tuple(dict.fromkeys(route_hosts)) or (ANY_HOST,)
    if not route_hosts:
        return (listener_host,)
    out: list[str] = []
    for host in route_hosts:
        if host == listener_host or _wildcard_covers(listener_host, host):
            out.append(host)
        elif _wildcard_covers(host, listener_host):
            out.append(listener_host)
    return tuple(dict.fromkeys(out))
