"""The registry picks a router by route kind and refuses unknown kinds out loud."""

from __future__ import annotations

from typing import cast

import pytest

from canary.kube.resources import GRPCROUTE
from canary.routers import (
    BackendKey,
    GatewayApiRouter,
    RouteApi,
    RouteKey,
    RouterError,
    RouteTarget,
    UnsupportedRouteKindError,
    router_for,
)

pytestmark = pytest.mark.unit

NO_API = cast(RouteApi, object())  # any call on it would fail: these tests must not reach the API


def test_an_httproute_gets_the_gateway_api_router_for_that_kind() -> None:
    router = router_for("HTTPRoute", NO_API)
    assert isinstance(router, GatewayApiRouter)
    assert router.kind == "HTTPRoute"


@pytest.mark.parametrize(
    ("kind", "group"),
    [
        ("TCPRoute", "gateway.networking.k8s.io"),
        ("GRPCRoute", "gateway.networking.k8s.io"),  # not offered until a gateway serves it here
        ("HTTPRoute", "example.com"),
        ("Ingress", ""),
    ],
)
def test_an_unsupported_route_kind_is_an_error_naming_the_supported_kinds(
    kind: str, group: str
) -> None:
    with pytest.raises(UnsupportedRouteKindError, match=r"HTTPRoute\.gateway\.networking\.k8s\.io"):
        router_for(kind, NO_API, group=group)


async def test_a_router_refuses_a_target_of_another_kind_before_any_request() -> None:
    router = GatewayApiRouter(NO_API, resource=GRPCROUTE)
    target = RouteTarget(RouteKey("app", "web"), BackendKey("a", 80), BackendKey("b", 80))
    with pytest.raises(RouterError, match="HTTPRoute app/web given to the GRPCRoute router"):
        await router.set_weights(target, canary_weight=10)


def test_stable_and_canary_must_be_different_backends() -> None:
    with pytest.raises(ValueError, match="same backend"):
        RouteTarget(RouteKey("app", "web"), BackendKey("a", 80), BackendKey("a", 80))
