"""The small value types a router is addressed with, and how Gateway API references compare.

Pure: no I/O. Matching applies the Gateway API defaults (group "" = core, kind Service or
Gateway, namespace = the route's own) so that what a user wrote and what a server defaulted
compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from canary.kube.resources import GATEWAY_GROUP, JsonObj

CORE_GROUPS: Final = frozenset({"", "core"})


@dataclass(frozen=True)
class BackendKey:
    """A Service backend as the Canary names it; namespace None means the route's namespace."""

    name: str
    port: int
    namespace: str | None = None

    def namespace_in(self, route_namespace: str) -> str:
        return self.namespace or route_namespace

    def describe(self, route_namespace: str) -> str:
        return f"Service {self.namespace_in(route_namespace)}/{self.name} port {self.port}"


@dataclass(frozen=True)
class RouteKey:
    """Which route: its kind (HTTPRoute, GRPCRoute), namespace and name."""

    namespace: str
    name: str
    kind: str = "HTTPRoute"

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class RouteTarget:
    """Everything a router needs to find the weights it manages in one route."""

    route: RouteKey
    stable: BackendKey
    canary: BackendKey
    rule_names: tuple[str, ...] | None = None  # None: every rule holding both backends

    def __post_init__(self) -> None:
        if self.stable == self.canary:
            raise ValueError(f"stable and canary are the same backend: {self.stable}")


def route_namespace(route: JsonObj) -> str:
    return str(route.get("metadata", {}).get("namespace", ""))


def route_kind(route: JsonObj) -> str:
    return str(route.get("kind") or "HTTPRoute")


def is_service_ref(ref: JsonObj) -> bool:
    return ref.get("group", "") in CORE_GROUPS and ref.get("kind", "Service") == "Service"


def ref_namespace(ref: JsonObj, route_ns: str) -> str:
    return str(ref.get("namespace") or route_ns)


def backend_matches(ref: Any, key: BackendKey, route_ns: str) -> bool:
    """Whether a backendRef (as written or as defaulted by the server) points at `key`."""
    return (
        isinstance(ref, dict)
        and is_service_ref(ref)
        and ref.get("name") == key.name
        and ref.get("port") == key.port
        and ref_namespace(ref, route_ns) == key.namespace_in(route_ns)
    )


class ParentKey(NamedTuple):
    """A parentRef with the Gateway API defaults applied, comparable with `==`."""

    group: str
    kind: str
    namespace: str
    name: str
    section: str | None
    port: int | None


def parent_key(ref: JsonObj, route_ns: str) -> ParentKey:
    """A parentRef as written or as defaulted by the server, in one comparable form."""
    group = ref.get("group")
    return ParentKey(
        GATEWAY_GROUP if group is None else str(group),
        str(ref.get("kind") or "Gateway"),
        str(ref.get("namespace") or route_ns),
        str(ref.get("name", "")),
        ref.get("sectionName"),
        ref.get("port"),
    )


def describe_parent(key: ParentKey) -> str:
    kind = key.kind if key.group == GATEWAY_GROUP else f"{key.kind}.{key.group}"
    text = f"{kind} {key.namespace}/{key.name}"
    if key.section:
        text += f" (listener {key.section})"
    if key.port:
        text += f" (port {key.port})"
    return text


def is_gateway_parent(key: ParentKey) -> bool:
    return key.group == GATEWAY_GROUP and key.kind == "Gateway"
