"""Read, fresh from the API, the objects `observe_route` judges a route by.

I/O only, no judgement: the parent Gateways and their GatewayClasses (and which Gateways are
known not to exist, as opposed to unseen), the Services the route refers to, ReferenceGrants
in the namespaces of cross-namespace backends, and all Ingresses.
The controller may feed `observe_route` from its cache instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canary.core.observations import RouteObservation
from canary.kube.resources import (
    GATEWAY,
    GATEWAYCLASS,
    INGRESS,
    REFERENCEGRANT,
    SERVICE,
    JsonObj,
)
from canary.routers.backendrefs import backends
from canary.routers.base import RouteReader, ScopedReader
from canary.routers.observe import observe_route
from canary.routers.refs import RouteTarget, is_gateway_parent, parent_key, route_namespace


@dataclass
class Surroundings:
    """What a route depends on, keyed the way `observe_route` looks it up."""

    gateways: dict[tuple[str, str], JsonObj] = field(default_factory=dict)
    gateway_classes: dict[str, JsonObj] = field(default_factory=dict)
    services: dict[tuple[str, str], JsonObj] = field(default_factory=dict)
    reference_grants: list[JsonObj] = field(default_factory=list)
    ingresses: list[JsonObj] = field(default_factory=list)
    missing_gateways: set[tuple[str, str]] = field(default_factory=set)  # known not to exist
    unseen_grants: set[str] = field(default_factory=set)  # namespaces whose grants are unread


async def read_surroundings(api: RouteReader, route: JsonObj) -> Surroundings:
    """Everything the route refers to (missing objects are simply absent from the result)."""
    ns = route_namespace(route)
    found = Surroundings()
    for ref in route.get("spec", {}).get("parentRefs") or []:
        key = parent_key(ref, ns)
        if not is_gateway_parent(key) or (key.namespace, key.name) in found.gateways:
            continue
        gateway = await api.get_or_none(GATEWAY, key.name, key.namespace)
        if gateway is None:
            if not isinstance(api, ScopedReader) or api.sees(GATEWAY, key.namespace):
                found.missing_gateways.add((key.namespace, key.name))
            continue
        found.gateways[(key.namespace, key.name)] = gateway
        class_name = str(gateway.get("spec", {}).get("gatewayClassName", ""))
        if class_name and class_name not in found.gateway_classes:
            gateway_class = await api.get_or_none(GATEWAYCLASS, class_name)
            if gateway_class is not None:
                found.gateway_classes[class_name] = gateway_class
    foreign: set[str] = set()
    for backend in backends(route):
        if backend.group == "" and backend.kind == "Service":
            service = await api.get_or_none(SERVICE, backend.name, backend.namespace)
            if service is not None:
                found.services[(backend.namespace, backend.name)] = service
        if backend.namespace != ns:
            foreign.add(backend.namespace)
    for namespace in sorted(foreign):
        if isinstance(api, ScopedReader) and not api.sees(REFERENCEGRANT, namespace):
            found.unseen_grants.add(namespace)  # "none in the cache" would not mean "none"
            continue
        grants, _ = await api.list(REFERENCEGRANT, namespace)
        found.reference_grants += grants
    found.ingresses, _ = await api.list(INGRESS)
    return found


async def diagnose(
    api: RouteReader, target: RouteTarget, route: JsonObj | None
) -> RouteObservation:
    """`observe_route` for `target`, with its surroundings read through `api` (the live API,
    or the controller's caches)."""
    around = await read_surroundings(api, route) if route is not None else Surroundings()
    return observe_route(
        route,
        stable=target.stable,
        canary=target.canary,
        rule_names=target.rule_names,
        gateways=around.gateways,
        gateway_classes=around.gateway_classes,
        services=around.services,
        reference_grants=around.reference_grants,
        ingresses=around.ingresses,
        ref=target.route,
        missing_gateways=around.missing_gateways,
        unseen_grants=around.unseen_grants,
    )
