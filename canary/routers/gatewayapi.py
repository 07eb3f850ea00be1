"""The Gateway API traffic router: HTTPRoute and GRPCRoute weights through guarded JSON Patches.

I/O lives here and nowhere else in `canary.routers`: read the route, send the patch built by
`patches`, and on a rejected guard re-read fresh from the API and try again, a bounded number
of times. It never creates, replaces or deletes a route.
"""

from __future__ import annotations

from collections.abc import Callable

from canary.core.observations import RouteObservation
from canary.kube.errors import Conflict, Invalid, NotFound
from canary.kube.resources import HTTPROUTE, JsonObj, Resource
from canary.routers.base import RouteApi
from canary.routers.errors import (
    RouteChangedUnderDecisionError,
    RouteContendedError,
    RouteNotFoundError,
    RoutePatchRejectedError,
    RouterError,
)
from canary.routers.patches import (
    JsonPatch,
    canary_shares,
    check_canary_weight,
    rewrite_patch,
    weight_patch,
)
from canary.routers.refs import RouteTarget
from canary.routers.surroundings import diagnose

DEFAULT_ATTEMPTS = 5
PatchBuilder = Callable[[JsonObj], JsonPatch]


class GatewayApiRouter:
    """Drives the weights of one Gateway API route kind (HTTPROUTE or GRPCROUTE)."""

    def __init__(
        self, api: RouteApi, *, resource: Resource = HTTPROUTE, attempts: int = DEFAULT_ATTEMPTS
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._api = api
        self._resource = resource
        self._attempts = attempts

    @property
    def kind(self) -> str:
        return self._resource.kind

    async def set_weights(
        self, target: RouteTarget, *, canary_weight: int, route: JsonObj | None = None
    ) -> JsonObj | None:
        weight = check_canary_weight(canary_weight)  # before any request

        def build(current: JsonObj) -> JsonPatch:
            return weight_patch(
                current,
                stable=target.stable,
                canary=target.canary,
                rule_names=target.rule_names,
                canary_weight=weight,
            )

        def raises_canary(current: JsonObj) -> bool:
            shares = canary_shares(
                current, stable=target.stable, canary=target.canary, rule_names=target.rule_names
            )
            return any(share < weight for share in shares)

        return await self._guarded(target, build, route, redecide_if=raises_canary)

    async def rewrite(self, target: RouteTarget, *, route: JsonObj | None = None) -> JsonObj | None:
        def build(current: JsonObj) -> JsonPatch:
            return rewrite_patch(
                current, stable=target.stable, canary=target.canary, rule_names=target.rule_names
            )

        return await self._guarded(target, build, route)

    async def observe(self, target: RouteTarget) -> RouteObservation:
        self._check_kind(target)
        route = await self._api.get_or_none(
            self._resource, target.route.name, target.route.namespace
        )
        if route is not None:
            route.setdefault("kind", self._resource.kind)
        return await diagnose(self._api, target, route)

    def _check_kind(self, target: RouteTarget) -> None:
        if target.route.kind != self._resource.kind:
            raise RouterError(f"{target.route} given to the {self._resource.kind} router")

    async def _read(self, target: RouteTarget) -> JsonObj:
        route = await self._api.get_or_none(
            self._resource, target.route.name, target.route.namespace
        )
        if route is None:
            raise RouteNotFoundError(
                f"{target.route} does not exist (or was deleted): the operator never creates "
                f"routes; restore it or fix the Canary's route reference"
            )
        return route

    async def _guarded(
        self,
        target: RouteTarget,
        build: PatchBuilder,
        route: JsonObj | None,
        *,
        redecide_if: Callable[[JsonObj], bool] | None = None,
    ) -> JsonObj | None:
        """Patch with `build(route)`; when the guards reject it, re-read fresh and rebuild —
        unless `redecide_if(fresh route)`: a write that would give the canary more traffic than
        the changed route does is never re-applied on data its decision did not see (a replica
        that lost its lease, or a rollback recorded meanwhile); the caller decides again."""
        self._check_kind(target)
        current = route if route is not None else await self._read(target)
        fresh = route is None
        for _ in range(self._attempts):
            patch = build(current)
            if not patch and not fresh:
                # "Nothing to change" judged on a possibly stale (cached) copy: confirm it on
                # the live route, or a rollback could be skipped because the cache lags.
                current, fresh = await self._read(target), True
                patch = build(current)
            if not patch:
                return None
            try:
                written = await self._api.patch(
                    self._resource,
                    target.route.name,
                    patch,
                    namespace=target.route.namespace,
                    patch_type="json",
                )
            except NotFound as exc:
                raise RouteNotFoundError(f"{target.route} was deleted during the write") from exc
            except (Invalid, Conflict) as exc:
                # A failed `test` op is a 422 whose message does not say which op failed. Tell a
                # race from a bad patch by re-reading: if nothing moved, retrying cannot help.
                fresh_route = await self._read(target)
                if not _moved(current, fresh_route):
                    raise RoutePatchRejectedError(
                        f"{target.route}: the API server rejected the weight patch although the "
                        f"route did not change: {exc}"
                    ) from exc
                if redecide_if is not None and redecide_if(fresh_route):
                    raise RouteChangedUnderDecisionError(
                        f"{target.route} changed while its weights were written; deciding again",
                        route=fresh_route,
                    ) from exc
                current = fresh_route
                continue
            return written
        raise RouteContendedError(
            f"{target.route} changed under every one of {self._attempts} guarded writes; "
            f"something else keeps rewriting it"
        )


def _version(route: JsonObj) -> str:
    return str(route.get("metadata", {}).get("resourceVersion", ""))


def _moved(before: JsonObj, after: JsonObj) -> bool:
    return _version(before) != _version(after)
