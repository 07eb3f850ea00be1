"""Whether a route's backendRefs can resolve: missing Services and missing ReferenceGrants.

Pure. A cross-namespace backendRef needs a ReferenceGrant in the backend's namespace; we check
that ourselves from the grants we were given, so it is reported even before (or without) a
gateway controller saying `RefNotPermitted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import GATEWAY_GROUP, JsonObj
from canary.routers.refs import CORE_GROUPS, ref_namespace, route_kind, route_namespace
from canary.routers.rules import refs_of, rules_of


@dataclass(frozen=True)
class Backend:
    """One backendRef target with defaults applied; `group` is "" for the core group."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = self.kind if not self.group else f"{self.kind}.{self.group}"
        return f"{kind} {self.namespace}/{self.name}"


def backends(route: JsonObj) -> list[Backend]:
    """Every distinct backend the route refers to, in the order first seen."""
    ns = route_namespace(route)
    seen: dict[Backend, None] = {}
    for rule in rules_of(route):
        for ref in refs_of(rule):
            group = str(ref.get("group", ""))
            backend = Backend(
                "" if group in CORE_GROUPS else group,
                str(ref.get("kind", "Service")),
                ref_namespace(ref, ns),
                str(ref.get("name", "")),
            )
            seen.setdefault(backend)
    return list(seen)


def _grant_allows(grant: JsonObj, *, route: JsonObj, backend: Backend) -> bool:
    meta, spec = grant.get("metadata", {}), grant.get("spec", {})
    if meta.get("namespace") != backend.namespace:
        return False
    from_ok = any(
        f.get("group") == GATEWAY_GROUP
        and f.get("kind") == route_kind(route)
        and f.get("namespace") == route_namespace(route)
        for f in spec.get("from") or []
    )
    to_ok = any(
        ("" if t.get("group", "") in CORE_GROUPS else t.get("group")) == backend.group
        and t.get("kind") == backend.kind
        and t.get("name") in (None, "", backend.name)
        for t in spec.get("to") or []
    )
    return from_ok and to_ok


def _grant_message(route: JsonObj, backend: Backend) -> str:
    kind, ns = route_kind(route), route_namespace(route)
    name = route.get("metadata", {}).get("name", "")
    return (
        f"{kind} {ns}/{name} refers to {backend} in another namespace, and no ReferenceGrant "
        f"in namespace {backend.namespace} allows it. Create a ReferenceGrant in namespace "
        f"{backend.namespace} with from: [{{group: {GATEWAY_GROUP}, kind: {kind}, "
        f'namespace: {ns}}}] and to: [{{group: "{backend.group}", kind: {backend.kind}, '
        f"name: {backend.name}}}]"
    )


def grant_issues(route: JsonObj, reference_grants: Iterable[JsonObj]) -> list[RouteIssue]:
    """One RefNotPermitted issue per cross-namespace backend no ReferenceGrant allows."""
    grants = list(reference_grants)
    ns = route_namespace(route)
    return [
        RouteIssue(
            RouteProblem.REFS_NOT_RESOLVED, RouteReason.REF_NOT_PERMITTED, _grant_message(route, b)
        )
        for b in backends(route)
        if b.namespace != ns and not any(_grant_allows(g, route=route, backend=b) for g in grants)
    ]


def resolved_refs_issues(
    route: JsonObj,
    condition: JsonObj,
    *,
    reporter: str,
    services: Mapping[tuple[str, str], JsonObj],
    reference_grants: Iterable[JsonObj],
) -> list[RouteIssue]:
    """Explain a ResolvedRefs=False written by `reporter` (controller and parent)."""
    reason = str(condition.get("reason", "") or "")
    said = (
        f"{reporter} reports ResolvedRefs=False ({reason or 'no reason'}: "
        f"{condition.get('message', '')})"
    )
    if reason == "BackendNotFound":
        missing = [
            b
            for b in backends(route)
            if b.group == "" and b.kind == "Service" and (b.namespace, b.name) not in services
        ]
        if missing:
            return [
                RouteIssue(
                    RouteProblem.REFS_NOT_RESOLVED,
                    reason,
                    f"{said}. {b} does not exist: create it, or fix the backendRef's name, "
                    f"namespace or port (kubectl -n {b.namespace} get service {b.name})",
                )
                for b in missing
            ]
    if reason == "RefNotPermitted" and grant_issues(route, reference_grants):
        return []  # `grant_issues` names each missing ReferenceGrant; that is the actionable part
    advice = {
        "BackendNotFound": "check that every Service the route refers to exists on that port",
        "RefNotPermitted": "a cross-namespace backendRef needs a ReferenceGrant in the "
        "backend's namespace that allows this route's kind and namespace",
        "InvalidKind": "backendRefs must point at a kind the controller supports (usually "
        'Service, with group "")',
        "UnsupportedProtocol": "the Service port's appProtocol is not one the controller "
        "supports for this route kind",
    }.get(reason, "fix what the controller's message names")
    return [RouteIssue(RouteProblem.REFS_NOT_RESOLVED, reason, f"{said}: {advice}")]
