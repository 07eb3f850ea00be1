"""A snapshot of every object the sandbox gateway reads, and the lookups shared by its pure parts.

Plain data: the controller builds a `World` from its watch caches and hands it to the pure
translation and status code. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonObj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects

GATEWAY_GROUP = "gateway.networking.k8s.io"


def key_of(obj: JsonObj) -> Key:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta["name"])


@dataclass(frozen=True)
class World:
    """Everything the gateway reacts to, keyed by (namespace, name)."""

    controller_name: str
    gateway_classes: Mapping[Key, JsonObj] = field(default_factory=dict)
    gateways: Mapping[Key, JsonObj] = field(default_factory=dict)
    routes: Mapping[Key, JsonObj] = field(default_factory=dict)
    services: Mapping[Key, JsonObj] = field(default_factory=dict)
    endpoint_slices: Mapping[Key, JsonObj] = field(default_factory=dict)
    reference_grants: Mapping[Key, JsonObj] = field(default_factory=dict)
    namespaces: Mapping[Key, JsonObj] = field(default_factory=dict)

    def owns_class(self, name: str) -> bool:
        cls = self.gateway_classes.get(("", name))
        return cls is not None and cls.get("spec", {}).get("controllerName") == self.controller_name

    def our_classes(self) -> list[JsonObj]:
        return [c for k, c in sorted(self.gateway_classes.items()) if self.owns_class(k[1])]

    def our_gateways(self) -> list[JsonObj]:
        """Gateways of a class this controller owns, in a stable order."""
        return [
            gw
            for _, gw in sorted(self.gateways.items())
            if self.owns_class(str(gw.get("spec", {}).get("gatewayClassName", "")))
        ]

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        ns = self.namespaces.get(("", namespace))
        labels = dict((ns or {}).get("metadata", {}).get("labels") or {})
        # The API server sets this label on every namespace; default it for snapshots in tests.
        labels.setdefault("kubernetes.io/metadata.name", namespace)
        return labels

    def service(self, namespace: str, name: str) -> JsonObj | None:
        return self.services.get((namespace, name))

    def slices_for(self, namespace: str, service: str) -> list[JsonObj]:
        return [
            s
            for (ns, _), s in sorted(self.endpoint_slices.items())
            if ns == namespace
            and (s.get("metadata", {}).get("labels") or {}).get("kubernetes.io/service-name")
            == service
        ]

    def grants_in(self, namespace: str) -> list[JsonObj]:
        return [g for (ns, _), g in sorted(self.reference_grants.items()) if ns == namespace]
