"""Observe a Canary's route from the caches, judged by the router's pure `observe_route`.

`CacheReader` lets the router's reading code run against the informer caches instead of the
API server, so observing a route never reads the API (a reconcile reads it only to confirm a
write on a live copy, and the metrics sampler reads a gate's Secret). Nothing here decides
anything.
"""

from __future__ import annotations

import builtins

from canary.api.spec import CanarySpec
from canary.controller.manager import Caches, route_of
from canary.core.observations import RouteObservation
from canary.core.ownership import Claim, owner_of
from canary.kube.resources import GRPCROUTE, HTTPROUTE, JsonObj, Resource
from canary.routers.refs import BackendKey, RouteRef, RouteTarget
from canary.routers.surroundings import diagnose

ROUTE_RESOURCES: dict[str, Resource] = {"HTTPRoute": HTTPROUTE, "GRPCRoute": GRPCROUTE}


class CacheReader:
    """The read half of the API, answered from the informer caches."""

    def __init__(self, caches: Caches) -> None:
        self._caches = caches

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        return self._caches.get(res, namespace or "", name)

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[builtins.list[JsonObj], str]:
        return self._caches.items(res, namespace), ""

    def sees(self, res: Resource, namespace: str) -> bool:
        """Whether some cache watches `res` in `namespace`: only then does "not in the cache"
        mean "does not exist" (a namespace-scoped operator does not see other namespaces)."""
        return any(
            informer.namespace in (None, namespace)
            for informer in self._caches.by_kind.get(res.plural, [])
        )


def target_of(namespace: str, spec: CanarySpec) -> RouteTarget:
    """What the router needs to find the managed weights of this Canary."""
    ref = spec.route_ref
    return RouteTarget(
        route=RouteRef(namespace=namespace, name=ref.name, kind=str(ref.kind)),
        stable=BackendKey(spec.stable.name, spec.stable.port),
        canary=BackendKey(spec.canary.name, spec.canary.port),
        rule_names=tuple(ref.rule_names) if ref.rule_names is not None else None,
    )


def cached_route(caches: Caches, target: RouteTarget) -> JsonObj | None:
    resource = ROUTE_RESOURCES.get(target.route.kind, HTTPROUTE)
    return caches.get(resource, target.route.namespace, target.route.name)


async def observe(caches: Caches, target: RouteTarget) -> RouteObservation:
    """The route's managed weights and attachment health, from the caches only."""
    return await diagnose(CacheReader(caches), target, cached_route(caches, target))


def owner_of_weights(caches: Caches, canary: JsonObj) -> str | None:
    """Another cached Canary that owns the weights `canary` would steer (the oldest naming the
    same route and a shared backend), or None when `canary` owns them."""
    return owner_of(claim_of(canary), (claim_of(o) for o in caches.canaries_on(route_of(canary))))


def claim_of(canary: JsonObj) -> Claim:
    """A Canary's claim on its route's weights, from its manifest."""
    spec = canary.get("spec") or {}
    backends = frozenset(
        (str(ref.get("name", "")), int(ref.get("port") or 0))
        for ref in (spec.get("stable") or {}, spec.get("canary") or {})
    )
    meta = canary["metadata"]
    return Claim(str(meta["name"]), str(meta.get("creationTimestamp", "")), backends)
