"""What a Canary points the router at, read from its spec or manifest: the route it names
(`route_of`), the weights it steers there (`target_of`), and its claim on them (`claim_of`).

Pure mapping; used by the operator and by `canary check` alike, so both read a Canary the same
way.
"""

from __future__ import annotations

from canary.api.route import BackendRef
from canary.api.spec import CanarySpec
from canary.api.workload import CANARY_SUFFIX, PRIMARY_SUFFIX
from canary.core.ownership import Claim
from canary.kube.resources import JsonObj
from canary.routers.refs import BackendKey, RouteKey, RouteTarget


def backend_key(namespace: str, backend: BackendRef) -> BackendKey:
    """A backend as the router matches it: a namespace other than the Canary's (and so the
    route's) own is kept, the Canary's own is left implicit, as a backendRef would leave it."""
    other = backend.namespace if backend.namespace not in (None, namespace) else None
    return BackendKey(backend.name, backend.port, other)


def target_of(namespace: str, spec: CanarySpec) -> RouteTarget:
    """What the router needs to find the managed weights of this Canary. Raises ValueError when
    stable and canary are one backend (one names the Canary's namespace, the other omits it)."""
    ref = spec.route_ref
    return RouteTarget(
        route=RouteKey(namespace=namespace, name=ref.name, kind=str(ref.kind)),
        stable=backend_key(namespace, spec.stable),
        canary=backend_key(namespace, spec.canary),
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
    meta = canary["metadata"]
    own = str(meta.get("namespace", ""))
    refs = (spec.get("stable") or {}, spec.get("canary") or {})
    workload = spec.get("workload")
    if isinstance(workload, dict) and workload.get("name"):
        # Workload mode: the manifest has no stable/canary; they are the operator's Services.
        name, port = str(workload["name"]), workload.get("port")
        refs = ({"name": name + PRIMARY_SUFFIX, "port": port},
                {"name": name + CANARY_SUFFIX, "port": port})
    backends = frozenset(
        (str(ref.get("namespace") or own), str(ref.get("name", "")), _port(ref.get("port")))
        for ref in refs
    )
    return Claim(str(meta["name"]), str(meta.get("creationTimestamp", "")), backends)


def _port(value: object) -> int:
    """A port read leniently (an invalid spec still has a claim): 0 when not a number."""
    try:
        return int(str(value or 0))
    except ValueError:
        return 0
