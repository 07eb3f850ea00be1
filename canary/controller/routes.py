"""Observe a Canary's route from the caches, judged by the router's pure diagnosis.

`CacheReader` lets the router's reading code run against the informer caches instead of the
API server, so observing a route never reads the API. (The reconcile's other reads: the metric
sampler reads a gate's Secret live, and a route write re-reads the route to confirm it.)
Nothing here decides anything.
"""

from __future__ import annotations

import builtins

from canary.controller.caches import Caches
from canary.core.observations import RouteObservation
from canary.core.ownership import owner_of
from canary.kube.resources import JsonObj, Resource
from canary.routers.refs import RouteTarget
from canary.routers.registry import ROUTE_RESOURCES
from canary.routers.surroundings import diagnose
from canary.routers.target import claim_of, route_of


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


def cached_route(caches: Caches, target: RouteTarget) -> JsonObj | None:
    resource = ROUTE_RESOURCES.get(target.route.kind)
    if resource is None:
        return None
    return caches.get(resource, target.route.namespace, target.route.name)


async def observe(caches: Caches, target: RouteTarget) -> RouteObservation:
    """The route's managed weights and attachment health, from the caches only."""
    return await diagnose(CacheReader(caches), target, cached_route(caches, target))


def owner_of_weights(caches: Caches, canary: JsonObj) -> str | None:
    """Another cached Canary that owns the weights `canary` would steer (the oldest naming the
    same route and a shared backend), or None when `canary` owns them."""
    return owner_of(claim_of(canary), (claim_of(o) for o in caches.canaries_on(route_of(canary))))
