"""The traffic-router interface the controller programs against, and the API it needs.

Only Protocols: a router shifts weights in one route and reports what it sees. It never
creates or deletes a route and never imports kubernetes_asyncio (`canary.kube.Kube` fits
`RouteApi` structurally).
"""

from __future__ import annotations

import builtins
from typing import Literal, Protocol, runtime_checkable

from canary.core.observations import RouteObservation
from canary.kube.resources import JsonObj, Resource
from canary.routers.refs import RouteTarget


class RouteReader(Protocol):
    """The read half: what observing a route needs (the API, or the controller's caches)."""

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None: ...

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[builtins.list[JsonObj], str]: ...


@runtime_checkable
class ScopedReader(Protocol):
    """A reader that sees only part of the cluster (the controller's caches of the namespaces
    it watches). A reader without `sees` (the live API) sees everything."""

    def sees(self, res: Resource, namespace: str) -> bool:
        """Whether an object of `res` in `namespace` would be found if it existed."""
        ...


class RouteApi(RouteReader, Protocol):
    """The part of `canary.kube.client.Kube` a router uses."""

    async def patch(
        self,
        res: Resource,
        name: str,
        body: object,
        *,
        namespace: str | None = None,
        patch_type: Literal["json", "merge", "apply"] = "merge",
    ) -> JsonObj: ...


class TrafficRouter(Protocol):
    """Shifts traffic between the stable and the canary backend of one route."""

    @property
    def kind(self) -> str:
        """The route kind this router handles, e.g. "HTTPRoute"."""
        ...

    async def observe(self, target: RouteTarget) -> RouteObservation:
        """Read the route and its surroundings fresh from the API and diagnose them."""
        ...

    async def set_weights(
        self, target: RouteTarget, *, canary_weight: int, route: JsonObj | None = None
    ) -> JsonObj | None:
        """Give the canary `canary_weight`% and the stable the rest; the written route, or
        None when nothing had to change.

        `route` is a (possibly cached) copy to start from; a rejected write re-reads fresh.
        """
        ...

    async def rewrite(
        self, target: RouteTarget, *, route: JsonObj | None = None
    ) -> JsonObj | None:
        """Promotion by rewrite: drop the stable backendRef, canary at 100; the written route,
        or None when nothing had to change."""
        ...
