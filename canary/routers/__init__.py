"""Traffic routers: shift weights between a stable and a canary backend of a user's route.

Routers change only the weights they manage and never create, replace or delete a route.
The pure parts (`rules`, `patches`, `observe`) do no I/O; `gatewayapi` is the only writer.
"""

from canary.routers.base import RouteApi, TrafficRouter
from canary.routers.errors import (
    InvalidWeightError,
    RouteChangedUnderDecisionError,
    RouteContendedError,
    RouteNotFoundError,
    RoutePatchRejectedError,
    RouterError,
    RouteShapeError,
    UnsupportedRouteKindError,
)
from canary.routers.gatewayapi import GatewayApiRouter
from canary.routers.observe import observe_route
from canary.routers.patches import rewrite_patch, weight_patch
from canary.routers.refs import BackendKey, RouteKey, RouteTarget
from canary.routers.registry import router_for
from canary.routers.rules import managed_rules

__all__ = [
    "BackendKey",
    "GatewayApiRouter",
    "InvalidWeightError",
    "RouteApi",
    "RouteChangedUnderDecisionError",
    "RouteContendedError",
    "RouteKey",
    "RouteNotFoundError",
    "RoutePatchRejectedError",
    "RouteShapeError",
    "RouteTarget",
    "RouterError",
    "TrafficRouter",
    "UnsupportedRouteKindError",
    "managed_rules",
    "observe_route",
    "rewrite_patch",
    "router_for",
    "weight_patch",
]
