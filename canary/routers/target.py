"""What a Canary points the router at, read from its spec or manifest: the route it names
(`route_of`), the weights it steers there (`target_of`), and its claim on them (`claim_of`).

Pure mapping; used by the operator and by `canary check` alike, so both read a Canary the same
way.
"""

from __future__ import annotations

from canary.api.spec import CanarySpec
from canary.core.ownership import Claim
from canary.kube.resources import JsonObj
from canary.routers.refs import BackendKey, RouteKey, RouteTarget


def target_of(namespace: str, spec: CanarySpec) -> RouteTarget:
    """What the router needs to find the managed weights of this Canary."""
    ref = spec.route_ref
    return RouteTarget(
        route=RouteKey(namespace=namespace, name=ref.name, kind=str(ref.kind)),
        stable=BackendKey(spec.stable.name, spec.stable.port),
        canary=BackendKey(spec.canary.name, spec.canary.port),
        rule_names=tuple(ref.rule_names) if ref.rule_names is not None else None,
    )


def route_of(canary: JsonObj) -> RouteKey:
    """The route a Canary's manifest names (read leniently: an invalid spec still has one)."""
    ref = canary.get("spec", {}).get("routeRef", {})
    return RouteKey(
        namespace=str(canary["metadata"]["namespace"]),
        name=str(ref.get("name", "")),
        kind=str(ref.get("kind", "HTTPRoute")),
    )


def claim_of(canary: JsonObj) -> Claim:
    """A Canary's claim on its route's weights, from its manifest."""
    spec = canary.get("spec") or {}
    backends = frozenset(
        (str(ref.get("name", "")), int(ref.get("port") or 0))
        for ref in (spec.get("stable") or {}, spec.get("canary") or {})
    )
    meta = canary["metadata"]
    return Claim(str(meta["name"]), str(meta.get("creationTimestamp", "")), backends)
