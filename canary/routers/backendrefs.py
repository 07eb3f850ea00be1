"""Whether a route's backendRefs can resolve: missing Services and missing ReferenceGrants.

Pure. A cross-namespace backendRef needs a ReferenceGrant in the backend's namespace; we check
that ourselves from the grants we were given, so it is reported even before (or without) a
gateway controller saying `RefNotPermitted`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import GATEWAY_GROUP, JsonObj
from canary.routers.refs import (
    CORE_GROUPS,
    is_service_ref,
    ref_namespace,
    route_kind,
    route_namespace,
)
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


def placed_backends(route: JsonObj) -> list[tuple[int, Backend]]:
    """Each (rule index, backend) pair of the route, once per rule, in order."""
    ns = route_namespace(route)
    seen: dict[tuple[int, Backend], None] = {}
    for index, rule in enumerate(rules_of(route)):
        for ref in refs_of(rule):
            group = str(ref.get("group", ""))
            backend = Backend(
                "" if group in CORE_GROUPS else group,
                str(ref.get("kind", "Service")),
                ref_namespace(ref, ns),
                str(ref.get("name", "")),
            )
            seen.setdefault((index, backend))
    return list(seen)


def backends(route: JsonObj) -> list[Backend]:
    """Every distinct backend the route refers to, in the order first seen."""
    return list(dict.fromkeys(backend for _, backend in placed_backends(route)))


def outside(
    route: JsonObj, culprits: Iterable[Backend], managed: Collection[int] | None
) -> tuple[list[Backend], dict[Backend, list[int]]]:
    """Split `culprits`: those a managed rule refers to (all of them when `managed` is None,
    i.e. the managed rules are unknown), and the others with the rules that refer to them."""
    where: dict[Backend, list[int]] = {}
    for index, backend in placed_backends(route):
        where.setdefault(backend, []).append(index)
    inside: list[Backend] = []
    others: dict[Backend, list[int]] = {}
    for backend in dict.fromkeys(culprits):
        rules = where.get(backend, [])
        if managed is None or any(index in managed for index in rules):
            inside.append(backend)
        else:
            others[backend] = rules
    return inside, others


def _rules_text(route: JsonObj, indexes: Iterable[int]) -> str:
    rules = rules_of(route)
    return ", ".join(
        f"spec.rules[{i}]" + (f" ({rules[i]['name']!r})" if rules[i].get("name") else "")
        for i in indexes
    )


def unmanaged_hint(
    route: JsonObj, reason: str, backend: Backend, rules: Iterable[int], problem: str
) -> RouteIssue:
    """A backendRef problem only in rules the canary does not manage: said, not held on."""
    where = _rules_text(route, rules)
    return RouteIssue(
        RouteProblem.REFS_NOT_RESOLVED,
        reason,
        f"{where}, a rule the canary does not manage, refers to {backend}: {problem}. The "
        f"gateway cannot send that rule's traffic there (Contour answers it with 500s), but "
        f"the managed rules do not refer to it and are served: the rollout goes on",
    )


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


def _grant_spec(route: JsonObj, backend: Backend) -> str:
    kind, ns = route_kind(route), route_namespace(route)
    return (
        f"from: [{{group: {GATEWAY_GROUP}, kind: {kind}, namespace: {ns}}}] and to: "
        f'[{{group: "{backend.group}", kind: {backend.kind}, name: {backend.name}}}]'
    )


def grant_manifest(route: JsonObj, backend: Backend) -> str:
    """The smallest ReferenceGrant that lets `route` refer to `backend`, as a `kubectl apply`
    a person can paste."""
    kind, ns = route_kind(route), route_namespace(route)
    return (
        f"kubectl apply -f - <<EOF\n"
        f"apiVersion: {GATEWAY_GROUP}/v1beta1\n"
        f"kind: ReferenceGrant\n"
        f"metadata:\n"
        f"  name: allow-{kind.lower()}s-from-{ns}\n"
        f"  namespace: {backend.namespace}\n"
        f"spec:\n"
        f"  from:\n"
        f"  - {{group: {GATEWAY_GROUP}, kind: {kind}, namespace: {ns}}}\n"
        f"  to:\n"
        f'  - {{group: "{backend.group}", kind: {backend.kind}, name: {backend.name}}}\n'
        f"EOF"
    )


def _grant_message(route: JsonObj, backend: Backend) -> str:
    kind, ns = route_kind(route), route_namespace(route)
    name = route.get("metadata", {}).get("name", "")
    return (
        f"{kind} {ns}/{name} refers to {backend} in another namespace, and no ReferenceGrant "
        f"in namespace {backend.namespace} allows it. Create a ReferenceGrant in namespace "
        f"{backend.namespace} with {_grant_spec(route, backend)}:\n"
        f"{grant_manifest(route, backend)}"
    )


def _ungranted(
    route: JsonObj, grants: list[JsonObj], unseen: Collection[str] = ()
) -> list[Backend]:
    """Cross-namespace backends no grant allows; namespaces in `unseen` (whose grants the
    caller cannot read) are left to the gateway controller's word."""
    ns = route_namespace(route)
    return [
        b
        for b in backends(route)
        if b.namespace != ns
        and b.namespace not in unseen
        and not any(_grant_allows(g, route=route, backend=b) for g in grants)
    ]


def _missing_services(
    route: JsonObj, services: Mapping[tuple[str, str], JsonObj]
) -> list[Backend]:
    return [
        b
        for b in backends(route)
        if b.group == "" and b.kind == "Service" and (b.namespace, b.name) not in services
    ]


def _without_port(route: JsonObj, services: Mapping[tuple[str, str], JsonObj]) -> list[Backend]:
    """Service backends whose Service we read and which lacks the port a backendRef names."""
    ns = route_namespace(route)
    found: list[Backend] = []
    for rule in rules_of(route):
        for ref in refs_of(rule):
            if not is_service_ref(ref):
                continue
            backend = Backend("", "Service", ref_namespace(ref, ns), str(ref.get("name", "")))
            service = services.get((backend.namespace, backend.name))
            ports = ((service or {}).get("spec") or {}).get("ports")
            if isinstance(ports, list) and ref.get("port") not in [
                p.get("port") for p in ports if isinstance(p, dict)
            ]:
                found.append(backend)
    return list(dict.fromkeys(found))


def _not_services(route: JsonObj) -> list[Backend]:
    return [b for b in backends(route) if not (b.group == "" and b.kind == "Service")]


def grant_issues(
    route: JsonObj,
    reference_grants: Iterable[JsonObj],
    *,
    managed: Collection[int] | None = None,
    unseen: Collection[str] = (),
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """Cross-namespace backends no ReferenceGrant allows: an issue (RefNotPermitted) for each
    one a managed rule refers to, a hint for each one only other rules refer to. `managed`
    None: every rule counts as managed. `unseen`: namespaces whose grants were not read (the
    operator does not watch them); their backends are judged by the controller's status."""
    ungranted = _ungranted(route, list(reference_grants), unseen)
    return _ungranted_findings(
        route,
        ungranted,
        managed,
        issue=lambda b: _grant_message(route, b),
        hint=lambda b: f"it needs a ReferenceGrant in namespace {b.namespace}, and none allows "
        f"it: create one there with {_grant_spec(route, b)}",
    )


def _fault(reason: str, backend: Backend) -> str:
    if reason == "BackendNotFound":
        return (
            f"that Service does not exist or lacks the port the backendRef names (kubectl -n "
            f"{backend.namespace} get service {backend.name}): create it or fix that backendRef"
        )
    return "point that backendRef at a Service (group \"\", kind Service)"


ADVICE = {
    "BackendNotFound": "check that every Service the route refers to exists on that port",
    "RefNotPermitted": "a cross-namespace backendRef needs a ReferenceGrant in the "
    "backend's namespace that allows this route's kind and namespace",
    "InvalidKind": "backendRefs must point at a kind the controller supports (usually "
    'Service, with group "")',
    "UnsupportedProtocol": "the Service port's appProtocol is not one the controller "
    "supports for this route kind",
}


def resolved_refs_issues(
    route: JsonObj,
    condition: JsonObj,
    *,
    reporter: str,
    services: Mapping[tuple[str, str], JsonObj],
    reference_grants: Iterable[JsonObj],
    managed: Collection[int] | None = None,
    unseen: Collection[str] = (),
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """Explain a ResolvedRefs=False written by `reporter` (controller and parent): the issues
    that hold, and the hints that do not.

    ResolvedRefs is per parent, not per rule, so which rule is at fault comes from our own
    reading of the rules. When every backend we find at fault sits only in rules the canary
    does not manage (`managed`: rule indexes, None for all), the managed rules are served: the
    fault is a hint. When we find no culprit, we cannot say where it is: it holds, as said.
    """
    reason = str(condition.get("reason", "") or "")
    said = (
        f"{reporter} reports ResolvedRefs=False ({reason or 'no reason'}: "
        f"{condition.get('message', '')})"
    )
    culprits: list[Backend] = []
    if reason == "BackendNotFound":
        culprits = _missing_services(route, services) + _without_port(route, services)
    elif reason == "RefNotPermitted":
        culprits = _ungranted(route, list(reference_grants))
        if set(culprits) - set(_ungranted(route, list(reference_grants), unseen)):
            return _refused_unseen(route, said, culprits, unseen=unseen, managed=managed)
    elif reason == "InvalidKind":
        culprits = _not_services(route)
    if reason == "RefNotPermitted" and culprits:
        return [], []  # `grant_issues` names each missing ReferenceGrant, held on or not
    inside, others = outside(route, culprits, managed)
    hints = [
        unmanaged_hint(route, reason, b, rules, f"{said}; {_fault(reason, b)}")
        for b, rules in others.items()
    ]
    if culprits and not inside:
        return [], hints
    missing = [b for b in inside if (b.namespace, b.name) not in services]
    if reason == "BackendNotFound" and missing:
        return [
            RouteIssue(
                RouteProblem.REFS_NOT_RESOLVED,
                reason,
                f"{said}. {b} does not exist: create it, or fix the backendRef's name, "
                f"namespace or port (kubectl -n {b.namespace} get service {b.name})",
            )
            for b in missing
        ], hints
    advice = ADVICE.get(reason, "fix what the controller's message names")
    return [RouteIssue(RouteProblem.REFS_NOT_RESOLVED, reason, f"{said}: {advice}")], hints


def _refused_unseen(
    route: JsonObj,
    said: str,
    culprits: list[Backend],
    *,
    unseen: Collection[str],
    managed: Collection[int] | None,
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """The controller says RefNotPermitted, and some candidate backends sit in namespaces whose
    grants we cannot read: its word decides for those, with the grant each one would need."""
    blind = [b for b in culprits if b.namespace in unseen]
    return _ungranted_findings(
        route,
        blind,
        managed,
        issue=lambda b: f"{said}. {_grant_message(route, b)}\n(The operator does not watch "
        f"namespace {b.namespace}, so it cannot see the grants there itself: let it watch that "
        f"namespace too.)",
        hint=lambda b: f"{said}; create a ReferenceGrant in namespace {b.namespace} with "
        f"{_grant_spec(route, b)}",
    )


def _ungranted_findings(
    route: JsonObj,
    ungranted: list[Backend],
    managed: Collection[int] | None,
    *,
    issue: Callable[[Backend], str],
    hint: Callable[[Backend], str],
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """RefNotPermitted for backends no grant allows: an issue (message `issue(b)`) for each one a
    managed rule refers to, a hint (`hint(b)`) for each one only other rules refer to."""
    inside, others = outside(route, ungranted, managed)
    issues = [
        RouteIssue(RouteProblem.REFS_NOT_RESOLVED, RouteReason.REF_NOT_PERMITTED, issue(b))
        for b in inside
    ]
    hints = [
        unmanaged_hint(route, RouteReason.REF_NOT_PERMITTED, b, rules, hint(b))
        for b, rules in others.items()
    ]
    return issues, hints
