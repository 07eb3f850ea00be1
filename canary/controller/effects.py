"""What the act step may touch: the traffic routers, the route cache (read, and written through
with our own writes), the event sink and the API client. One small collaborator, handed to the
executor and the finalizer; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from canary.controller.caches import Caches
from canary.controller.events import EventSink
from canary.controller.routes import cached_route
from canary.kube.client import Kube
from canary.kube.resources import JsonObj
from canary.routers.base import TrafficRouter
from canary.routers.refs import RouteTarget
from canary.routers.registry import ROUTE_RESOURCES, router_for


@dataclass(frozen=True)
class Effects:
    kube: Kube
    caches: Caches
    events: EventSink

    def router(self, kind: str) -> TrafficRouter:
        return router_for(kind, self.kube)

    def cached_route(self, target: RouteTarget) -> JsonObj | None:
        """The route as the informer cache has it (None: not cached, or not a supported kind)."""
        return cached_route(self.caches, target)

    def remember_route(self, route: JsonObj) -> None:
        """Write our own write's result through to the cache, so the next pass never judges
        the route on an older copy."""
        resource = ROUTE_RESOURCES.get(str(route.get("kind", "")))
        if resource is not None:
            self.caches.upsert(resource, route)
