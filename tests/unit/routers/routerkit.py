"""Builders for route-shaped dicts and a tiny RFC 6902 applier, shared by the router unit tests.

The applier exists so the tests can check a patch's effect without the `jsonpatch` package;
it implements only what RFC 6902 says about test/add/remove/replace.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from harness.values import CANARY, STABLE

from canary.core.observations import RouteObservation
from canary.routers import RouteKey, observe_route

GW = "gateway.networking.k8s.io"


class PatchTestFailed(Exception):
    """A `test` op did not hold: the server would reject the whole patch."""


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


def _walk(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    parent = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    return parent, parts[-1]


def apply_patch(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """Apply an RFC 6902 patch to a copy of `doc`; raise PatchTestFailed when a test fails."""
    result = copy.deepcopy(doc)
    for op in patch:
        parent, key = _walk(result, op["path"])
        if isinstance(parent, list):
            index = len(parent) if key == "-" else int(key)
            if op["op"] == "test":
                if index >= len(parent) or parent[index] != op["value"]:
                    raise PatchTestFailed(op["path"])
            elif op["op"] == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del parent[index]
            elif op["op"] == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                raise ValueError(op)
        elif op["op"] == "test":
            if key not in parent or parent[key] != op["value"]:
                raise PatchTestFailed(op["path"])
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace" and key not in parent:
                raise KeyError(op["path"])
            parent[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[key]
        else:
            raise ValueError(op)
    return result



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
