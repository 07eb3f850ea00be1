"""Is the route attached? Read what gateway controllers wrote in `status.parents` and on the
GatewayClass, and turn every "no" into an issue that says what to fix and where.

Pure. The route's own `status.parents` and its parent Gateway's own status decide; a
GatewayClass nobody marked accepted is only a hint once a controller accepted its Gateway, and a
backendRef fault only in rules the canary does not manage is a hint too. `status.parents`
entries belong to controllers: only entries matching one of the route's own parentRefs count.
A missing `observedGeneration` counts as current (some implementations never set it); only a
present, older one means "not processed yet". A parentRef to a Gateway that does not exist is
reported as such, whatever a controller wrote for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import JsonObj
from canary.routers import listeners
from canary.routers.backendrefs import resolved_refs_issues
from canary.routers.gatewayclass import (
    class_issue,
    condition,
    gateway_accepted,
    is_outdated,
    unclaimed_class_hint,
)
from canary.routers.refs import (
    ParentKey,
    describe_parent,
    is_gateway_parent,
    parent_key,
    route_kind,
    route_namespace,
)


def _not_accepted(
    cond: JsonObj, *, route: JsonObj, key: ParentKey, gateway: JsonObj | None, reporter: str
) -> RouteIssue:
    """Accepted=False, with the controller's reason (spec name for an alias) and words."""
    written = str(cond.get("reason") or "")
    said = (
        f"{reporter} reports Accepted=False ({written or 'no reason'}: "
        f"{cond.get('message', '')})"
    )
    explain = listeners.explain_not_accepted(written, route=route, key=key, gateway=gateway)
    reason = listeners.spec_reason(written)
    return RouteIssue(RouteProblem.NOT_ACCEPTED, reason, f"{said}. {explain}")


def _waiting(reason: str, message: str) -> RouteIssue:
    return RouteIssue(RouteProblem.NO_PARENT_STATUS, reason, message)


def _gateway_not_found(
    title: str, key: ParentKey, route_ns: str, entries: list[JsonObj]
) -> RouteIssue:
    """The parentRef names a Gateway that does not exist: that, not what a controller may have
    written for the parent (often a refusal that only follows from it), is what to fix."""
    text = (
        f"{title} names parent {describe_parent(key)} in spec.parentRefs, but Gateway "
        f"{key.name} in namespace {key.namespace} does not exist: create it or fix "
        f"spec.parentRefs (kubectl get gateways -A lists the Gateways)"
    )
    if key.namespace == route_ns:
        text += (
            f"; a parentRef without a namespace names a Gateway in the route's own namespace "
            f"{route_ns}"
        )
    refusals = [
        f"{entry.get('controllerName') or 'a gateway controller'} reports Accepted=False "
        f"({accepted.get('reason') or 'no reason'})"
        for entry in entries
        if (accepted := condition(entry.get("conditions"), "Accepted")) is not None
        and accepted.get("status") == "False"
    ]
    if refusals:
        text += f". {'; '.join(refusals)} for this parent, which follows from the missing Gateway"
    return RouteIssue(RouteProblem.PARENT_NOT_FOUND, RouteReason.GATEWAY_NOT_FOUND, text)


def _no_status(
    title: str, key: ParentKey, gateway: JsonObj | None, classes: Mapping[str, JsonObj]
) -> RouteIssue:
    parent = describe_parent(key)
    if is_gateway_parent(key) and gateway is None:  # it may exist: we cannot see it
        return _waiting(
            RouteReason.NO_PARENT_STATUS,
            f"No controller has written status for {title} on parent {parent} yet, and the "
            f"operator cannot read that Gateway because it does not watch namespace "
            f"{key.namespace}: check that the Gateway exists (kubectl -n {key.namespace} get "
            f"gateway {key.name}) and that its controller runs, or let the operator watch "
            f"{key.namespace} too",
        )
    where = ""
    if gateway is not None:
        class_name = str(gateway.get("spec", {}).get("gatewayClassName", ""))
        controller = classes.get(class_name, {}).get("spec", {}).get("controllerName", "?")
        where = f" (GatewayClass {class_name}, controllerName {controller})"
    return _waiting(
        RouteReason.NO_PARENT_STATUS,
        f"No controller has written status for {title} on parent {parent}{where} yet: if this "
        f"lasts more than a few seconds, no gateway controller is watching that parent; check "
        f"that its controller is running and that the parentRef names the right Gateway",
    )


def _entry_issues(
    entry: JsonObj,
    *,
    route: JsonObj,
    key: ParentKey,
    gateway: JsonObj | None,
    services: Mapping[tuple[str, str], JsonObj],
    grants: list[JsonObj],
    managed: Collection[int] | None,
    unseen_grants: Collection[str],
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """What one controller's status entry for one parent says is wrong: issues, hints."""
    title = f"{route_kind(route)} {route_namespace(route)}/{route['metadata'].get('name', '')}"
    generation = int(route["metadata"].get("generation") or 0)
    reporter = (
        f"{entry.get('controllerName') or 'the gateway controller'} (parent {describe_parent(key)})"
    )
    accepted = condition(entry.get("conditions"), "Accepted")
    resolved = condition(entry.get("conditions"), "ResolvedRefs")
    if any(is_outdated(c, generation) for c in (accepted, resolved) if c is not None):
        return [
            _waiting(
                RouteReason.STATUS_OUTDATED,
                f"{reporter} has not processed generation {generation} of {title} yet (its "
                f"status is for an older generation): wait; if it never catches up, check that "
                f"controller's logs",
            )
        ], []
    issues: list[RouteIssue] = []
    hints: list[RouteIssue] = []
    if accepted is not None and accepted.get("status") == "False":
        issues.append(
            _not_accepted(accepted, route=route, key=key, gateway=gateway, reporter=reporter)
        )
    elif accepted is None or accepted.get("status") != "True":
        issues.append(
            _waiting(
                str((accepted or {}).get("reason") or RouteReason.PENDING),
                f"{reporter} has not decided yet whether to accept {title} (Accepted is "
                f"{(accepted or {}).get('status', 'missing')}): wait, or check that controller's "
                f"logs",
            )
        )
    if resolved is not None and resolved.get("status") == "False":
        held, noted = resolved_refs_issues(
            route,
            resolved,
            reporter=reporter,
            services=services,
            reference_grants=grants,
            managed=managed,
            unseen=unseen_grants,
        )
        issues += held
        hints += noted
    return issues, hints


def parent_issues(
    route: JsonObj,
    *,
    gateways: Mapping[tuple[str, str], JsonObj],
    gateway_classes: Mapping[str, JsonObj],
    services: Mapping[tuple[str, str], JsonObj],
    reference_grants: Iterable[JsonObj],
    missing_gateways: Collection[tuple[str, str]] | None = None,
    managed: Collection[int] | None = None,
    unseen_grants: Collection[str] = (),
) -> tuple[list[RouteIssue], list[RouteIssue]]:
    """Every attachment problem, parent by parent, then each parent Gateway's class; and the
    hints (problems that do not hold the rollout).

    `missing_gateways`: the (namespace, name) of the parent Gateways known not to exist; None
    means every Gateway absent from `gateways` is known not to exist. A Gateway neither given
    nor known missing is one the caller cannot see (a namespace it does not watch).
    `managed`: the indexes of the rules the canary manages (None: every rule counts).
    `unseen_grants`: namespaces whose ReferenceGrants the caller could not read.
    """
    ns = route_namespace(route)
    title = f"{route_kind(route)} {ns}/{route['metadata'].get('name', '')}"
    entries = [p for p in route.get("status", {}).get("parents") or [] if isinstance(p, dict)]
    grants = list(reference_grants)
    refs = route.get("spec", {}).get("parentRefs") or []
    parents = list(dict.fromkeys(parent_key(ref, ns) for ref in refs))
    if not parents:
        message = (
            f"{title} has no spec.parentRefs, so no Gateway serves it: add a parentRef "
            f"to the Gateway that should carry the canary's traffic"
        )
        issue = RouteIssue(RouteProblem.PARENT_NOT_FOUND, RouteReason.NO_PARENT_REFS, message)
        return [issue], []
    issues: list[RouteIssue] = []
    hints: list[RouteIssue] = []
    class_issues: dict[str, RouteIssue] = {}  # only the classes that hold
    class_hints: dict[str, RouteIssue] = {}
    for key in parents:
        where = (key.namespace, key.name)
        gateway = gateways.get(where) if is_gateway_parent(key) else None
        mine = [e for e in entries if parent_key(e.get("parentRef") or {}, ns) == key]
        if (
            is_gateway_parent(key)
            and gateway is None
            and (missing_gateways is None or where in missing_gateways)
        ):
            issues.append(_gateway_not_found(title, key, ns, mine))
            continue
        class_ok = True
        if gateway is not None:
            name = str(gateway.get("spec", {}).get("gatewayClassName", ""))
            used_by = f"Gateway {key.namespace}/{key.name}"
            found = class_issue(name, gateway_classes.get(name), used_by=used_by)
            if (
                found is not None
                and found.reason == RouteReason.GATEWAY_CLASS_NOT_ACCEPTED
                and gateway_accepted(gateway)
            ):
                # No controller marked the class, but one accepted this Gateway: its word and
                # the route's own status decide.
                class_hints.setdefault(
                    name, unclaimed_class_hint(name, gateway_classes[name], used_by=used_by)
                )
            elif found is not None:
                class_issues.setdefault(name, found)
                class_ok = False
        if not mine and class_ok:  # with an unaccepted class, the class is the root cause
            issues.append(_no_status(title, key, gateway, gateway_classes))
        for entry in mine:
            held, noted = _entry_issues(
                entry,
                route=route,
                key=key,
                gateway=gateway,
                services=services,
                grants=grants,
                managed=managed,
                unseen_grants=unseen_grants,
            )
            issues += held
            hints += noted
    hints += [hint for name, hint in class_hints.items() if name not in class_issues]
    return issues + list(class_issues.values()), hints
