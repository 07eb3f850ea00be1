"""Explain why a Gateway's listeners refuse a route, from the Gateway's own spec.

Pure. The controller's condition says *that* a route was refused and a reason; this module
turns the reason plus the listeners' `allowedRoutes`, protocols, hostnames and names into what
to change. A Gateway that does not exist is explained before this is asked; `gateway` is None
only when the operator cannot read it (a namespace it does not watch).
"""

from __future__ import annotations

from typing import Final

from canary.api.conditions import RouteReason
from canary.kube.resources import JsonObj
from canary.routers.refs import ParentKey, describe_parent, route_kind, route_namespace

# Names implementations (and older guides) have used for a Gateway API reason.
ALIASES: Final = {"NotAllowedByParent": RouteReason.NOT_ALLOWED_BY_LISTENERS.value}
# Listener protocols that can carry each route kind (Gateway API core and extended).
PROTOCOLS: Final = {
    "HTTPRoute": frozenset({"HTTP", "HTTPS"}),
    "GRPCRoute": frozenset({"HTTP", "HTTPS"}),
}


def spec_reason(reason: str) -> str:
    """The Gateway API name of an Accepted reason (`NotAllowedByParent` is an alias)."""
    return ALIASES.get(reason, reason)


def selected_listeners(gateway: JsonObj, *, section: str | None, port: int | None) -> list[JsonObj]:
    """The listeners a parentRef's sectionName/port pick (all of them when neither is set)."""
    return [
        listener
        for listener in gateway.get("spec", {}).get("listeners") or []
        if isinstance(listener, dict)
        and (section is None or listener.get("name") == section)
        and (port is None or listener.get("port") == port)
    ]


def describe_selector(selector: JsonObj) -> str:
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        values = ",".join(str(v) for v in expr.get("values") or [])
        parts.append(f"{expr.get('key')} {expr.get('operator')} ({values})".replace(" ()", ""))
    return ", ".join(parts) or "(empty selector: every namespace)"


def _allowed_namespaces(listener: JsonObj, *, route_ns: str, gateway_ns: str) -> str | None:
    """Why this listener refuses routes from `route_ns`, or None if its namespace rule allows."""
    namespaces = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    origin = namespaces.get("from", "Same")
    name = listener.get("name", "?")
    if origin == "All" or (origin == "Same" and route_ns == gateway_ns):
        return None
    if origin == "Same":
        return (
            f"listener {name} takes routes only from the Gateway's own namespace {gateway_ns} "
            f"(allowedRoutes.namespaces.from: Same, the default)"
        )
    if origin == "Selector":
        selector = namespaces.get("selector") or {}
        text = (
            f"listener {name} takes routes only from namespaces whose labels match "
            f"{describe_selector(selector)} (allowedRoutes.namespaces.from: Selector)"
        )
        labels = selector.get("matchLabels") or {}
        if labels and not selector.get("matchExpressions"):
            pairs = " ".join(f"{k}={v}" for k, v in labels.items())
            text += f"; to admit {route_ns}: kubectl label namespace {route_ns} {pairs}"
        return text
    return f"listener {name} has allowedRoutes.namespaces.from: {origin}"


def _protocol(listener: JsonObj, kind: str) -> str | None:
    protocol = str(listener.get("protocol", ""))
    carriers = PROTOCOLS.get(kind)
    if carriers is None or protocol in carriers:
        return None
    return (
        f"listener {listener.get('name', '?')} speaks {protocol}, which cannot carry {kind}s "
        f"(only {' or '.join(sorted(carriers))} listeners can)"
    )


def _allowed_kinds(listener: JsonObj, kind: str) -> str | None:
    kinds = (listener.get("allowedRoutes") or {}).get("kinds") or []
    if not kinds or any(k.get("kind") == kind for k in kinds):
        return None
    names = ", ".join(str(k.get("kind")) for k in kinds)
    return f"listener {listener.get('name', '?')} takes only route kinds [{names}], not {kind}"


def _listing(listeners: list[JsonObj]) -> str:
    return (
        ", ".join(
            f"{item.get('name')} (port {item.get('port')}, {item.get('protocol')}"
            + (f", hostname {item['hostname']})" if item.get("hostname") else ")")
            for item in listeners
        )
        or "none"
    )


def explain_not_accepted(
    reason: str, *, route: JsonObj, key: ParentKey, gateway: JsonObj | None
) -> str:
    """What to change, given an Accepted=False reason (spec name or alias) and the Gateway."""
    ns, kind = route_namespace(route), route_kind(route)
    parent = describe_parent(key)
    every = (gateway or {}).get("spec", {}).get("listeners") or []
    chosen = selected_listeners(gateway, section=key.section, port=key.port) if gateway else []
    reason = spec_reason(reason)
    if reason == RouteReason.NOT_ALLOWED_BY_LISTENERS:
        protocols = [text for listener in chosen if (text := _protocol(listener, kind))]
        policies = [
            text
            for listener in chosen
            for text in (
                _allowed_namespaces(listener, route_ns=ns, gateway_ns=key.namespace),
                _allowed_kinds(listener, kind),
            )
            if text
        ]
        detail = "; ".join(protocols + policies) or (
            "each listener's allowedRoutes (namespaces, kinds) and protocol decide it"
            + ("" if gateway else f", and the operator cannot read {parent} to say which")
        )
        fixes = []
        if protocols:
            fixes.append(
                f"attach to a listener whose protocol carries {kind}s (spec.parentRefs[]."
                f"sectionName), or ask the Gateway's owner for one"
            )
        if policies or not protocols:
            fixes.append(
                f"make namespace {ns} match, or ask the Gateway's owner to change "
                f"spec.listeners[].allowedRoutes"
            )
        return (
            f"{parent} does not let {kind}s from namespace {ns} attach: {detail}. Either "
            f"{'; or '.join(fixes)} (kubectl -n {key.namespace} get gateway {key.name} -o yaml)"
        )
    if reason == RouteReason.NO_MATCHING_LISTENER_HOSTNAME:
        hosts = ", ".join(route.get("spec", {}).get("hostnames") or []) or "none"
        return (
            f"None of the route's spec.hostnames [{hosts}] intersects the hostnames of the "
            f"listeners of {parent} [{_listing(chosen or every)}]: add a matching hostname to "
            f"the route, or a listener for it to the Gateway"
        )
    if reason == RouteReason.NO_MATCHING_PARENT:
        return (
            f"The parentRef's sectionName/port ({key.section or '-'}/{key.port or '-'}) matches no "
            f"listener of {parent}; its listeners are: {_listing(every)}. Fix "
            f"spec.parentRefs[].sectionName or port"
        )
    if reason == RouteReason.UNSUPPORTED_VALUE:
        return (
            "The controller does not support a value this route uses (its message names the "
            "field): change that field of the route, or use a controller that supports it"
        )
    if reason == RouteReason.PARENT_REF_NOT_PERMITTED:
        return (
            f"{parent} is in another namespace than the route, and no ReferenceGrant in "
            f"namespace {key.namespace} allows {kind}s from namespace {ns} to attach to it: "
            f"ask the Gateway's owner for one (from: [{{group: gateway.networking.k8s.io, "
            f"kind: {kind}, namespace: {ns}}}], to: [{{group: gateway.networking.k8s.io, "
            f"kind: Gateway, name: {key.name}}}]), or attach to a Gateway the route may use"
        )
    if reason == RouteReason.INCOMPATIBLE_FILTERS:
        return (
            "The controller cannot combine the filters of a rule of this route (its message "
            "says which): change or split the rule's filters"
        )
    return "Fix what the controller's message names, in the route or in the parent Gateway"
