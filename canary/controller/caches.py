"""The informer caches a reconcile reads from, one informer per kind (and per watched
namespace), and the index of which Canaries name which route.

Filled by the manager's informers; read by the reconciler; written through by our own writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canary.api.workload import PRIMARY_SUFFIX
from canary.controller.informer import Informer
from canary.controller.queue import Key, key_of, split_key
from canary.kube.resources import CANARY, JsonObj, Resource
from canary.routers.refs import RouteKey
from canary.routers.target import route_of


@dataclass
class Caches:
    """Every cache a reconcile reads from, one informer per kind (and per watched namespace)."""

    by_kind: dict[str, list[Informer]] = field(default_factory=dict)
    by_route: dict[RouteKey, set[Key]] = field(default_factory=dict)
    """The Canaries that name each route, kept by the manager from the Canary watch."""
    by_workload: dict[tuple[str, str], set[Key]] = field(default_factory=dict)
    """Workload mode: the Canaries that name each Deployment, by (namespace, name)."""

    def index_canary(self, old: JsonObj | None, new: JsonObj | None) -> None:
        """Move a Canary's key from the route it named (`old`) to the one it names (`new`)."""
        if old is not None:
            self.by_route.get(route_of(old), set()).discard(_key(old))
            if (workload := workload_of(old)) is not None:
                self.by_workload.get(workload, set()).discard(_key(old))
        if new is not None:
            self.by_route.setdefault(route_of(new), set()).add(_key(new))
            if (workload := workload_of(new)) is not None:
                self.by_workload.setdefault(workload, set()).add(_key(new))

    def canaries_of_workload(self, namespace: str, name: str, *, hpa: bool = False) -> list[Key]:
        """The Canaries a Deployment (or an HPA, `hpa=True`) concerns: those naming it as their
        workload, as the primary they own (`<workload>-primary`), or (an HPA) as their
        autoscaler. Deployments by index; HPAs, rarer, by a scan of the namespace."""
        keys = set(self.by_workload.get((namespace, name), set()))
        if name.endswith(PRIMARY_SUFFIX):
            keys |= self.by_workload.get((namespace, name.removesuffix(PRIMARY_SUFFIX)), set())
        for canary in self.items(CANARY, namespace) if hpa else ():
            workload = (canary.get("spec") or {}).get("workload") or {}
            if ((workload.get("autoscalerRef") or {}).get("name")) == name:
                keys.add(_key(canary))
        return sorted(keys)

    def canaries_on(self, route: RouteKey) -> list[JsonObj]:
        """The cached Canaries that name `route`."""
        found = (self.get(CANARY, *split_key(k)) for k in sorted(self.by_route.get(route, ())))
        return [obj for obj in found if obj is not None]

    def get(self, resource: Resource, namespace: str, name: str) -> JsonObj | None:
        for informer in self.by_kind.get(resource.plural, []):
            found = informer.get(namespace if resource.namespaced else "", name)
            if found is not None:
                return found
        return None

    def items(self, resource: Resource, namespace: str | None = None) -> list[JsonObj]:
        return [
            obj
            for informer in self.by_kind.get(resource.plural, [])
            for obj in informer.items(namespace)
        ]

    def upsert(self, resource: Resource, obj: JsonObj) -> None:
        """Write our own write's result through to the cache that holds the object."""
        namespace = obj.get("metadata", {}).get("namespace")
        for informer in self.by_kind.get(resource.plural, []):
            if informer.namespace in (None, namespace):
                informer.upsert(obj)
                return

    def all(self) -> list[Informer]:
        return [informer for informers in self.by_kind.values() for informer in informers]


def workload_of(canary: JsonObj) -> tuple[str, str] | None:
    """The (namespace, name) of the Deployment a Canary names in spec.workload (read leniently:
    an invalid spec still has one), or None outside workload mode."""
    workload = (canary.get("spec") or {}).get("workload")
    if not isinstance(workload, dict) or not workload.get("name"):
        return None
    return str(canary["metadata"]["namespace"]), str(workload["name"])


def _key(canary: JsonObj) -> Key:
    return key_of(canary["metadata"]["namespace"], canary["metadata"]["name"])
