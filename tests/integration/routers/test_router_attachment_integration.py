"""Attachment diagnosis on the real API server.

No gateway controller runs here: each test writes route and GatewayClass `status` through the
status subresource exactly as a controller would, then checks what `observe` makes of it.
What is under test is our reading of real objects, not a controller's behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from canary.core.observations import RouteProblem
from canary.kube.client import Kube
from canary.kube.resources import (
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    INGRESS,
    REFERENCEGRANT,
    SERVICE,
    JsonObj,
)
from canary.routers import BackendKey, GatewayApiRouter, RouteKey, RouteTarget

pytestmark = pytest.mark.integration

GW = "gateway.networking.k8s.io"
CONTROLLER = "example.com/test-gateway-controller"
EPOCH = "2025-01-01T00:00:00Z"


def condition(kind: str, status: str, reason: str, generation: int | None = None) -> JsonObj:
    body: JsonObj = {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": f"{kind} is {status} ({reason})",
        "lastTransitionTime": EPOCH,
    }
    if generation is not None:
        body["observedGeneration"] = generation
    return body


ACCEPTED = condition("Accepted", "True", "Accepted")
RESOLVED = condition("ResolvedRefs", "True", "ResolvedRefs")


class World:
    """Real objects around one route in one namespace, and status writes as a controller's."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.class_name = f"class-{namespace}"
        self.router = GatewayApiRouter(kube)
        self.target = RouteTarget(
            RouteKey(namespace, "shop"), BackendKey("web-stable", 80), BackendKey("web-canary", 80)
        )

    async def gateway(self, *, allowed: JsonObj | None = None) -> None:
        await self.kube.create(
            GATEWAYCLASS,
            {
                "apiVersion": f"{GW}/v1",
                "kind": "GatewayClass",
                "metadata": {"name": self.class_name},
                "spec": {"controllerName": CONTROLLER},
            },
        )
        listener: JsonObj = {"name": "http", "port": 80, "protocol": "HTTP"}
        listener["allowedRoutes"] = {"namespaces": allowed or {"from": "Same"}}
        gateway = {
            "apiVersion": f"{GW}/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": self.namespace},
            "spec": {"gatewayClassName": self.class_name, "listeners": [listener]},
        }
        await self.kube.create(GATEWAY, gateway, self.namespace)

    async def accept_gateway(self) -> None:
        """The Gateway's own status, as Contour writes it (for the Gateway's generation)."""
        gateway = await self.kube.get(GATEWAY, "gw", self.namespace)
        generation = gateway["metadata"]["generation"]
        conditions = [
            condition("Accepted", "True", "Accepted", generation),
            condition("Programmed", "True", "Programmed", generation),
        ]
        body = {"status": {"conditions": conditions}}
        await self.kube.patch(GATEWAY, "gw", body, namespace=self.namespace, subresource="status")

    async def accept_class(self) -> None:
        status = {"status": {"conditions": [condition("Accepted", "True", "Accepted")]}}
        await self.kube.patch(GATEWAYCLASS, self.class_name, status, subresource="status")

    async def service(self, name: str, namespace: str | None = None) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}]},
        }
        await self.kube.create(SERVICE, body, namespace or self.namespace)

    async def route(self, *extra_refs: JsonObj, other_rules: tuple[JsonObj, ...] = ()) -> JsonObj:
        refs = [
            {"name": "web-stable", "port": 80, "weight": 90},
            {"name": "web-canary", "port": 80, "weight": 10},
            *extra_refs,
        ]
        body = {
            "apiVersion": f"{GW}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "shop", "namespace": self.namespace},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "hostnames": ["shop.example.com"],
                "rules": [{"backendRefs": refs}, *other_rules],
            },
        }
        return await self.kube.create(HTTPROUTE, body, self.namespace)

    async def route_status(self, *conditions: JsonObj) -> None:
        parent = {
            "parentRef": {
                "group": GW,
                "kind": "Gateway",
                "name": "gw",
                "namespace": self.namespace,
            },
            "controllerName": CONTROLLER,
            "conditions": list(conditions),
        }
        body = {"status": {"parents": [parent]}}
        await self.kube.patch(
            HTTPROUTE, "shop", body, namespace=self.namespace, subresource="status"
        )

    async def healthy(self, *extra_refs: JsonObj) -> None:
        await self.gateway()
        await self.accept_class()
        await self.service("web-stable")
        await self.service("web-canary")
        await self.route(*extra_refs)
        await self.route_status(ACCEPTED, RESOLVED)

    async def hints(self) -> list[tuple[RouteProblem, str, str]]:
        observation = await self.router.observe(self.target)
        return [(i.problem, i.reason, i.message) for i in observation.hints]

    async def issues(self) -> list[tuple[RouteProblem, str, str]]:
        observation = await self.router.observe(self.target)
        return [(i.problem, i.reason, i.message) for i in observation.issues]


@pytest.fixture
async def world(kube: Kube, namespace: str) -> AsyncIterator[World]:
    w = World(kube, namespace)
    yield w
    if await kube.get_or_none(GATEWAYCLASS, w.class_name) is not None:
        await kube.delete(GATEWAYCLASS, w.class_name)


async def test_a_route_a_controller_accepted_is_attached_with_its_weights(world: World) -> None:
    await world.healthy()
    observation = await world.router.observe(world.target)
    assert observation.attached, observation.issues
    assert observation.canary_weight == 10


@pytest.mark.parametrize("written", ["NotAllowedByListeners", "NotAllowedByParent"])
async def test_a_namespace_the_listener_does_not_select_yields_not_allowed_by_listeners(
    world: World, written: str
) -> None:
    selector = {"from": "Selector", "selector": {"matchLabels": {"gateway-access": "true"}}}
    await world.gateway(allowed=selector)
    await world.accept_class()
    await world.service("web-stable")
    await world.service("web-canary")
    await world.route()
    await world.route_status(condition("Accepted", "False", written), RESOLVED)
    [(problem, reason, message)] = await world.issues()
    # The spec's name, whichever spelling the controller used (NotAllowedByParent: an alias).
    assert (problem, reason) == (RouteProblem.NOT_ACCEPTED, "NotAllowedByListeners")
    assert f"Accepted=False ({written}:" in message
    assert f"kubectl label namespace {world.namespace} gateway-access=true" in message


async def test_a_parent_gateway_that_does_not_exist_is_named_whatever_a_controller_wrote(
    world: World,
) -> None:
    await world.service("web-stable")
    await world.service("web-canary")
    await world.route()  # its parentRef names Gateway "gw", which is never created
    await world.route_status(condition("Accepted", "False", "NotAllowedByListeners"), RESOLVED)
    [(problem, reason, message)] = await world.issues()
    assert (problem, reason) == (RouteProblem.PARENT_NOT_FOUND, "GatewayNotFound")
    assert f"Gateway gw in namespace {world.namespace} does not exist" in message
    assert "create it or fix spec.parentRefs" in message and "allowedRoutes" not in message


async def test_a_gateway_class_no_controller_accepted_is_reported_from_the_crd_default(
    world: World, kube: Kube
) -> None:
    await world.gateway()
    await world.service("web-stable")
    await world.service("web-canary")
    await world.route()
    as_created = await kube.get(GATEWAYCLASS, world.class_name)
    assert as_created["status"]["conditions"][0]["status"] == "Unknown"  # the CRD's default
    [(problem, _, message)] = await world.issues()
    assert problem is RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED
    assert f"controllerName {CONTROLLER}" in message


async def test_an_unclaimed_class_is_a_hint_once_its_controller_accepted_the_gateway(
    world: World, kube: Kube
) -> None:
    """Contour in static mode never writes GatewayClass status: its Gateway's and the route's
    own status decide, and the class left at the CRD's Unknown/Pending is only said."""
    await world.gateway()
    await world.service("web-stable")
    await world.service("web-canary")
    await world.route()
    await world.route_status(ACCEPTED, RESOLVED)
    [(problem, _, _)] = await world.issues()  # the Gateway has no status either: hold
    assert problem is RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED
    await world.accept_gateway()
    assert await world.issues() == []
    [(problem, reason, message)] = await world.hints()
    assert (problem, reason) == (RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED, "GatewayClassNotAccepted")
    assert "Accepted is Unknown, Pending" in message and f"Gateway {world.namespace}/gw" in message
    observation = await world.router.observe(world.target)
    assert observation.attached and observation.canary_weight == 10


async def test_a_missing_grant_in_a_rule_the_canary_does_not_manage_is_a_hint(
    world: World, kube: Kube, other_namespace: str
) -> None:
    await world.service("search", other_namespace)
    search = {"backendRefs": [{"name": "search", "namespace": other_namespace, "port": 80}]}
    await world.gateway()
    await world.accept_class()
    await world.service("web-stable")
    await world.service("web-canary")
    await world.route(other_rules=(search,))
    await world.route_status(ACCEPTED, condition("ResolvedRefs", "False", "RefNotPermitted"))
    assert await world.issues() == []
    [(problem, reason, message)] = await world.hints()
    assert (problem, reason) == (RouteProblem.REFS_NOT_RESOLVED, "RefNotPermitted")
    assert "spec.rules[1], a rule the canary does not manage" in message
    assert f"ReferenceGrant in namespace {other_namespace}" in message


async def test_a_route_with_no_status_from_any_controller_names_class_and_controller(
    world: World,
) -> None:
    await world.gateway()
    await world.accept_class()
    await world.route()
    [(problem, reason, message)] = await world.issues()
    assert (problem, reason) == (RouteProblem.NO_PARENT_STATUS, "NoParentStatus")
    assert f"GatewayClass {world.class_name}, controllerName {CONTROLLER}" in message


async def test_status_for_an_older_generation_holds_until_the_controller_catches_up(
    world: World, kube: Kube
) -> None:
    await world.healthy()
    await world.route_status(condition("Accepted", "True", "Accepted", generation=1), RESOLVED)
    edit = {"spec": {"hostnames": ["shop.example.com", "www.shop.example.com"]}}
    edited = await kube.patch(HTTPROUTE, "shop", edit, namespace=world.namespace)
    assert edited["metadata"]["generation"] == 2
    [(problem, reason, _)] = await world.issues()
    assert (problem, reason) == (RouteProblem.NO_PARENT_STATUS, "StatusOutdated")
    await world.route_status(condition("Accepted", "True", "Accepted", generation=2), RESOLVED)
    assert await world.issues() == []


async def test_a_missing_canary_service_is_named_when_refs_do_not_resolve(world: World) -> None:
    await world.gateway()
    await world.accept_class()
    await world.service("web-stable")
    await world.route()
    await world.route_status(ACCEPTED, condition("ResolvedRefs", "False", "BackendNotFound"))
    [(problem, reason, message)] = await world.issues()
    assert (problem, reason) == (RouteProblem.REFS_NOT_RESOLVED, "BackendNotFound")
    assert f"Service {world.namespace}/web-canary does not exist" in message


async def test_a_cross_namespace_backend_needs_a_reference_grant_which_then_satisfies_it(
    world: World, kube: Kube, other_namespace: str
) -> None:
    await world.service("search", other_namespace)
    await world.healthy({"name": "search", "namespace": other_namespace, "port": 80, "weight": 0})
    # The controller's status says nothing is wrong (it may not have looked yet); we still know.
    [(problem, reason, message)] = await world.issues()
    assert (problem, reason) == (RouteProblem.REFS_NOT_RESOLVED, "RefNotPermitted")
    assert f"ReferenceGrant in namespace {other_namespace}" in message
    grant = {
        "apiVersion": f"{GW}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "shop-to-search"},
        "spec": {
            "from": [{"group": GW, "kind": "HTTPRoute", "namespace": world.namespace}],
            "to": [{"group": "", "kind": "Service", "name": "search"}],
        },
    }
    await kube.create(REFERENCEGRANT, grant, other_namespace)
    assert await world.issues() == []


async def test_an_ingress_serving_the_route_hostname_is_a_conflict_until_removed(
    world: World, kube: Kube, other_namespace: str
) -> None:
    await world.healthy()
    ingress: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "old-shop"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "legacy", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    await kube.create(INGRESS, ingress, other_namespace)
    [(problem, _, message)] = await world.issues()
    assert problem is RouteProblem.INGRESS_CONFLICT
    assert f"Ingress {other_namespace}/old-shop (class nginx)" in message
    await kube.delete(INGRESS, "old-shop", other_namespace)
    assert await world.issues() == []
