"""Pick the traffic router for a route kind; an unknown kind is an explicit error.

No silent fallback to a default router: a Canary pointing at a kind nobody handles must
fail loudly with the list of kinds that are supported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from canary.kube.resources import GATEWAY_GROUP, GRPCROUTE, HTTPROUTE
from canary.routers.base import RouteApi, TrafficRouter
from canary.routers.errors import UnsupportedRouteKindError
from canary.routers.gatewayapi import GatewayApiRouter

RouterFactory = Callable[[RouteApi], TrafficRouter]

ROUTERS: Mapping[tuple[str, str], RouterFactory] = MappingProxyType(
    {
        (GATEWAY_GROUP, "HTTPRoute"): lambda api: GatewayApiRouter(api, resource=HTTPROUTE),
        # GRPCRoute rules carry backendRefs exactly like HTTPRoute's, so the same code drives them.
        (GATEWAY_GROUP, "GRPCRoute"): lambda api: GatewayApiRouter(api, resource=GRPCROUTE),
    }
)


def router_for(kind: str, api: RouteApi, *, group: str = GATEWAY_GROUP) -> TrafficRouter:
    """The router for `group`/`kind`, or `UnsupportedRouteKindError` naming what is supported."""
    factory = ROUTERS.get((group, kind))
    if factory is None:
        supported = ", ".join(f"{k}.{g}" for g, k in ROUTERS)
        raise UnsupportedRouteKindError(
            f"no traffic router for {kind}.{group or 'core'}: supported kinds are {supported}"
        )
    return factory(api)
