"""`observe_route`: one route plus what surrounds it, turned into a `RouteObservation`.

Pure: the caller reads the objects (from a cache or the API) and passes them in; nothing here
does I/O or looks at the clock. Any issue means the rollout holds; a hint does not (see
`RouteObservation.hints`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteObservation, RouteProblem
from canary.kube.resources import JsonObj
from canary.routers.attachment import parent_issues
from canary.routers.backendrefs import grant_issues
from canary.routers.hostnames import ingress_conflicts
from canary.routers.refs import BackendKey, RouteKey
from canary.routers.rules import find_managed, rule_weights


def _unique(issues: Iterable[RouteIssue]) -> tuple[RouteIssue, ...]:
    return tuple(dict.fromkeys(issues))


def observe_route(
    route: JsonObj | None,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
    gateways: Mapping[tuple[str, str], JsonObj],
    gateway_classes: Mapping[str, JsonObj],
    services: Mapping[tuple[str, str], JsonObj],
    reference_grants: Iterable[JsonObj],
    ingresses: Iterable[JsonObj],
    ref: RouteKey | None = None,
    missing_gateways: Collection[tuple[str, str]] | None = None,
    unseen_grants: Collection[str] = (),
) -> RouteObservation:
    """The managed weights and every diagnosed problem; `ref` names a route that is missing.

    `missing_gateways` names the parent Gateways known not to exist; by default every parent
    Gateway absent from `gateways` is (see `attachment.parent_issues`). `unseen_grants` names
    the namespaces whose ReferenceGrants the caller could not read: backends there are judged
    by the gateway controller's ResolvedRefs alone.
    """
    if route is None:
        what = str(ref) if ref else "the route the Canary refers to"
        return RouteObservation(
            exists=False,
            issues=(
                RouteIssue(
                    RouteProblem.ROUTE_NOT_FOUND,
                    RouteReason.ROUTE_NOT_FOUND,
                    f"{what} does not exist: create it (with backendRefs to both the stable "
                    f"and the canary Service), or fix the Canary's route reference. The "
                    f"operator never creates routes.",
                ),
            ),
        )
    managed, shape = find_managed(route, stable=stable, canary=canary, rule_names=rule_names)
    # Faults in other rules are hints; without a managed rule, every rule counts.
    scope = [rule.index for rule in managed] if managed else None
    grants = list(reference_grants)
    # A controller reports RefNotPermitted only once it processed the route; ours comes first.
    ungranted, ungranted_elsewhere = grant_issues(
        route, grants, managed=scope, unseen=unseen_grants
    )
    attachment, noted = parent_issues(
        route,
        gateways=gateways,
        gateway_classes=gateway_classes,
        services=services,
        reference_grants=grants,
        missing_gateways=missing_gateways,
        managed=scope,
        unseen_grants=unseen_grants,
    )
    issues = _unique(
        [
            *shape,
            *ungranted,
            *attachment,
            *ingress_conflicts(route, gateways=gateways, ingresses=ingresses),
        ]
    )
    meta = route.get("metadata", {})
    return RouteObservation(
        exists=True,
        rules=rule_weights(route, managed),
        issues=issues,
        hints=_unique([*ungranted_elsewhere, *noted]),
        generation=int(meta.get("generation") or 0),
        resource_version=str(meta.get("resourceVersion", "")),
        writer=rules_writer(route),
    )


def rules_writer(route: JsonObj) -> str:
    """The field manager that last wrote the route's rules, from `managedFields` ("" if none
    says). `rules` is an atomic list, so one manager owns it: whoever changed it last."""
    stamp, writer = "", ""
    for entry in route.get("metadata", {}).get("managedFields") or []:
        spec = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if "f:rules" in spec and str(entry.get("time", "")) >= stamp:
            stamp, writer = str(entry.get("time", "")), str(entry.get("manager", ""))
    return writer
