"""Builders for route-shaped dicts, shared by the router unit tests (the RFC 6902 applier they
check patches with is `harness.jsonpatch`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.values import CANARY, STABLE

from canary.api import CanarySpec, CanaryStatus
from canary.api.conditions import Condition
from canary.core.decide import decide
from canary.core.decision import Decision
from canary.core.observations import Observations, RouteObservation
from canary.routers import RouteKey, observe_route

GW = "gateway.networking.k8s.io"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = CanarySpec.model_validate(
    {
        "routeRef": {"name": "web"},
        "stable": {"name": "web-stable", "port": 80},
        "canary": {"name": "web-canary", "port": 80},
        "steps": {"weights": [10, 50], "interval": "1m"},
    }
)


def first_decision(observation: RouteObservation) -> tuple[Decision, Condition]:
    """A new Canary's first decision on this route, and its RouteAccepted condition."""
    decision = decide(
        SPEC, CanaryStatus(), observations=Observations(route=observation), now=T0, generation=1
    )
    found = decision.status.condition("RouteAccepted")
    assert found is not None
    return decision, found


def _with(body: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """`body` plus each of `optional` that is not None."""
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def ref(name: str, port: int = 80, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    return _with({"name": name, "port": port, **extra}, weight=weight)


def rule(*refs: dict[str, Any], name: str | None = None, **extra: Any) -> dict[str, Any]:
    return _with({"backendRefs": list(refs), **extra}, name=name)


def route(
    *rules: dict[str, Any],
    name: str = "web",
    namespace: str = "app",
    kind: str = "HTTPRoute",
    resource_version: str = "100",
    generation: int = 1,
    parent_refs: list[dict[str, Any]] | None = None,
    hostnames: list[str] | None = None,
    status_parents: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": parent_refs
        if parent_refs is not None
        else [{"name": "gw", "namespace": "infra"}],
        "rules": list(rules),
    }
    if hostnames is not None:
        spec["hostnames"] = hostnames
    body: dict[str, Any] = {
        "apiVersion": f"{GW}/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": resource_version,
            "generation": generation,
        },
        "spec": spec,
    }
    if status_parents is not None:
        body["status"] = {"parents": status_parents}
    return body


def cond(
    kind: str, status: str, reason: str, message: str = "", generation: int | None = None
) -> dict[str, Any]:
    body = {"type": kind, "status": status, "reason": reason, "message": message}
    return _with(body, observedGeneration=generation)


def parent_status(
    *conditions: dict[str, Any],
    name: str = "gw",
    namespace: str = "infra",
    controller: str = "example.com/gateway",
    **ref_extra: Any,
) -> dict[str, Any]:
    return {
        "parentRef": {
            "group": GW,
            "kind": "Gateway",
            "name": name,
            "namespace": namespace,
            **ref_extra,
        },
        "controllerName": controller,
        "conditions": list(conditions),
    }


ACCEPTED = cond("Accepted", "True", "Accepted")
RESOLVED = cond("ResolvedRefs", "True", "ResolvedRefs")


def web_route(
    *parents: dict[str, Any],
    rules: list[dict[str, Any]] | None = None,
    weights: tuple[int, int] = (100, 0),
    **overrides: Any,
) -> dict[str, Any]:
    """The route `app/web` for shop.example.com with one rule sending `weights` to web-stable and
    web-canary (or `rules`); `parents` are its status.parents entries, `overrides` go to `route`."""
    stable, canary = weights
    both = rule(ref("web-stable", weight=stable), ref("web-canary", weight=canary))
    arguments: dict[str, Any] = {"hostnames": ["shop.example.com"], "status_parents": list(parents)}
    arguments.update(overrides)
    return route(*(rules if rules is not None else [both]), **arguments)


def gateway(
    name: str = "gw",
    namespace: str = "infra",
    *,
    class_name: str = "eg",
    listeners: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    generation: int = 1,
) -> dict[str, Any]:
    """A Gateway; `conditions` its status.conditions as a controller writes them (none: no
    status)."""
    body: dict[str, Any] = {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace, "generation": generation},
        "spec": {
            "gatewayClassName": class_name,
            "listeners": listeners
            if listeners is not None
            else [
                {
                    "name": "http",
                    "port": 80,
                    "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                }
            ],
        },
    }
    if conditions is not None:
        body["status"] = {"conditions": conditions}
    return body


def gateway_class(
    name: str = "eg", *, controller: str = "example.com/gateway", accepted: str | None = "True"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": f"{GW}/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller},
    }
    if accepted is not None:
        body["status"] = {
            "conditions": [
                cond("Accepted", accepted, "Accepted" if accepted == "True" else "Pending")
            ]
        }
    return body


@dataclass
class World:
    """A route `app/web` and what surrounds it; by default Gateway infra/gw of class `eg` and
    both Services."""

    route: dict[str, Any] | None = None
    gateways: dict[tuple[str, str], Any] = field(
        default_factory=lambda: {("infra", "gw"): gateway()}
    )
    gateway_classes: dict[str, Any] = field(default_factory=lambda: {"eg": gateway_class()})
    services: dict[tuple[str, str], Any] = field(
        default_factory=lambda: {("app", "web-stable"): {}, ("app", "web-canary"): {}}
    )
    reference_grants: list[Any] = field(default_factory=list)
    ingresses: list[Any] = field(default_factory=list)

    def observe(self) -> RouteObservation:
        """`observe_route` of the route `app/web` (backends STABLE, CANARY) in this world."""
        around = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del around["route"]
        return observe_route(
            self.route, stable=STABLE, canary=CANARY, rule_names=None, ref=RouteKey("app", "web"),
            **around,
        )

    def with_route(self, route: dict[str, Any] | None) -> World:
        return dataclasses.replace(self, route=route)
