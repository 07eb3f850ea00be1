"""The route kinds the operator drives, and the router for each: the one list of supported
kinds. The manager watches exactly these; the reconciler rejects a Canary naming any other
kind (InvalidSpec) before deciding anything.

No silent fallback to a default router: a Canary pointing at a kind nobody handles must fail
loudly with the list of kinds that are supported.

GRPCRoute is not listed yet: its rules carry backendRefs exactly like HTTPRoute's and
`GatewayApiRouter(api, resource=GRPCROUTE)` writes them (tests/integration/routers), but no
gateway here serves GRPCRoute end to end yet, so the operator does not offer it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from canary.kube.resources import GATEWAY_GROUP, HTTPROUTE, Resource
from canary.routers.base import RouteApi, TrafficRouter
from canary.routers.errors import UnsupportedRouteKindError
from canary.routers.gatewayapi import GatewayApiRouter

ROUTE_RESOURCES: Mapping[str, Resource] = MappingProxyType({"HTTPRoute": HTTPROUTE})
"""Supported route kind (all in the Gateway API group) -> where its objects live."""


def supported_kinds() -> str:
    """The supported kinds as a message names them: `HTTPRoute.gateway.networking.k8s.io`."""
    return ", ".join(f"{kind}.{GATEWAY_GROUP}" for kind in ROUTE_RESOURCES)


def router_for(kind: str, api: RouteApi, *, group: str = GATEWAY_GROUP) -> TrafficRouter:
    """The router for `group`/`kind`, or `UnsupportedRouteKindError` naming what is supported."""
    resource = ROUTE_RESOURCES.get(kind) if group == GATEWAY_GROUP else None
    if resource is None:
        raise UnsupportedRouteKindError(
            f"no traffic router for {kind}.{group or 'core'}: supported kinds are "
            f"{supported_kinds()}"
        )
    return GatewayApiRouter(api, resource=resource)
