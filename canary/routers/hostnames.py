"""Hostname overlap, and the Ingresses that serve a hostname the route also serves.

Pure. Gateway API wildcards (`*.example.com`) match one or more labels; Ingress wildcards
match exactly one. We only report an Ingress when some concrete hostname matches both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import JsonObj
from canary.routers.listeners import selected_listeners
from canary.routers.refs import is_gateway_parent, parent_key, route_kind, route_namespace


def _suffix(wildcard: str) -> str:
    return wildcard[2:]


def overlaps(route_host: str, ingress_host: str) -> bool:
    """Whether one concrete hostname is served by both a route hostname and an Ingress host."""
    r, i = route_host.lower().rstrip("."), ingress_host.lower().rstrip(".")
    r_wild, i_wild = r.startswith("*."), i.startswith("*.")
    if not r_wild and not i_wild:
        return r == i
    if r_wild and not i_wild:
        return i.endswith("." + _suffix(r))
    if i_wild and not r_wild:
        head, _, tail = r.partition(".")
        return bool(head) and tail == _suffix(i)
    # Both wildcards: the Ingress serves <label>.t, which the route covers iff t is s or below it.
    s, t = _suffix(r), _suffix(i)
    return t == s or t.endswith("." + s)


def listener_hostnames(
    route: JsonObj, gateways: Mapping[tuple[str, str], JsonObj]
) -> list[str] | None:
    """The hostnames of the listeners the route attaches to; None if any listener takes all."""
    ns = route_namespace(route)
    hosts: list[str] = []
    for ref in route.get("spec", {}).get("parentRefs") or []:
        key = parent_key(ref, ns)
        gateway = gateways.get((key.namespace, key.name)) if is_gateway_parent(key) else None
        if gateway is None:
            continue
        for listener in selected_listeners(gateway, section=key.section, port=key.port):
            if not listener.get("hostname"):
                return None
            hosts.append(str(listener["hostname"]))
    return hosts


def served_hostnames(route: JsonObj, gateways: Mapping[tuple[str, str], JsonObj]) -> list[str]:
    """The hostnames the route serves: its own, else its listeners' (empty: unknown or any)."""
    own = [str(h) for h in route.get("spec", {}).get("hostnames") or []]
    return own or (listener_hostnames(route, gateways) or [])


def _ingress_hosts(ingress: JsonObj) -> Iterable[str]:
    for rule in ingress.get("spec", {}).get("rules") or []:
        if isinstance(rule, dict) and rule.get("host"):
            yield str(rule["host"])


def ingress_conflicts(
    route: JsonObj,
    *,
    gateways: Mapping[tuple[str, str], JsonObj],
    ingresses: Iterable[JsonObj],
) -> list[RouteIssue]:
    """One issue per Ingress that serves a hostname this route serves."""
    hosts = served_hostnames(route, gateways)
    if not hosts:
        return []
    title = f"{route_kind(route)} {route_namespace(route)}/{route['metadata'].get('name', '')}"
    issues: list[RouteIssue] = []
    for ingress in ingresses:
        shared = sorted({i for i in _ingress_hosts(ingress) for r in hosts if overlaps(r, i)})
        if not shared:
            continue
        meta = ingress.get("metadata", {})
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        ingress_class = ingress.get("spec", {}).get("ingressClassName") or meta.get(
            "annotations", {}
        ).get("kubernetes.io/ingress.class", "the default class")
        issues.append(
            RouteIssue(
                RouteProblem.INGRESS_CONFLICT,
                RouteReason.INGRESS_HOSTNAME_CONFLICT,
                f"Ingress {where} (class {ingress_class}) also serves {', '.join(shared)}, which "
                f"{title} serves through its Gateway. Two load balancers then answer for one "
                f"hostname: clients that DNS sends to the Ingress bypass the canary split and "
                f"its metrics, so the rollout would judge and shift only part of the traffic. "
                f"Delete the Ingress or remove the hostname from it (kubectl -n "
                f"{meta.get('namespace', '')} edit ingress {meta.get('name', '')}), and point "
                f"DNS only at the Gateway.",
            )
        )
    return issues
