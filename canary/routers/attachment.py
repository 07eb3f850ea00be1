"""Is the route attached? Read what gateway controllers wrote in `status.parents` and on the
GatewayClass, and turn every "no" into an issue that says what to fix and where.

Pure. `status.parents` entries belong to controllers: only entries matching one of the route's
own parentRefs count. A missing `observedGeneration` counts as current (some implementations
never set it); only a present, older one means "not processed yet".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import JsonObj
from canary.routers import listeners
from canary.routers.backendrefs import resolved_refs_issues
from canary.routers.gatewayclass import class_issue, condition, is_outdated
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
    reason = str(cond.get("reason") or "NotAccepted")
    said = f"{reporter} reports Accepted=False ({reason}: {cond.get('message', '')})"
    explain = listeners.explain_not_accepted(reason, route=route, key=key, gateway=gateway)
    return RouteIssue(RouteProblem.NOT_ACCEPTED, reason, f"{said}. {explain}")


def _waiting(reason: str, message: str) -> RouteIssue:
    return RouteIssue(RouteProblem.NO_PARENT_STATUS, reason, message)


def _no_status(
    title: str, key: ParentKey, gateway: JsonObj | None, classes: Mapping[str, JsonObj]
) -> RouteIssue:
    parent = describe_parent(key)
    if is_gateway_parent(key) and gateway is None:
        return _waiting(
            "ParentNotFound",
            f"{title} names parent {parent}, which does not exist: create that Gateway or fix "
            f"spec.parentRefs",
        )
    where = ""
    if gateway is not None:
        class_name = str(gateway.get("spec", {}).get("gatewayClassName", ""))
        controller = classes.get(class_name, {}).get("spec", {}).get("controllerName", "?")
        where = f" (GatewayClass {class_name}, controllerName {controller})"
    return _waiting(
        "NoParentStatus",
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
) -> list[RouteIssue]:
    """What one controller's status entry for one parent says is wrong."""
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
                "StatusOutdated",
                f"{reporter} has not processed generation {generation} of {title} yet (its "
                f"status is for an older generation): wait; if it never catches up, check that "
                f"controller's logs",
            )
        ]
    issues: list[RouteIssue] = []
    if accepted is not None and accepted.get("status") == "False":
        issues.append(
            _not_accepted(accepted, route=route, key=key, gateway=gateway, reporter=reporter)
        )
    elif accepted is None or accepted.get("status") != "True":
        issues.append(
            _waiting(
                str((accepted or {}).get("reason") or "Pending"),
                f"{reporter} has not decided yet whether to accept {title} (Accepted is "
                f"{(accepted or {}).get('status', 'missing')}): wait, or check that controller's "
                f"logs",
            )
        )
    if resolved is not None and resolved.get("status") == "False":
        issues += resolved_refs_issues(
            route, resolved, reporter=reporter, services=services, reference_grants=grants
        )
    return issues


def parent_issues(
    route: JsonObj,
    *,
    gateways: Mapping[tuple[str, str], JsonObj],
    gateway_classes: Mapping[str, JsonObj],
    services: Mapping[tuple[str, str], JsonObj],
    reference_grants: Iterable[JsonObj],
) -> list[RouteIssue]:
    """Every attachment problem, parent by parent, then each parent Gateway's class."""
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
        return [_waiting("NoParentRefs", message)]
    issues: list[RouteIssue] = []
    class_issues: dict[str, RouteIssue | None] = {}
    for key in parents:
        gateway = gateways.get((key.namespace, key.name)) if is_gateway_parent(key) else None
        class_ok = True
        if gateway is not None:
            name = str(gateway.get("spec", {}).get("gatewayClassName", ""))
            if name not in class_issues:
                used_by = f"Gateway {key.namespace}/{key.name}"
                class_issues[name] = class_issue(name, gateway_classes.get(name), used_by=used_by)
            class_ok = class_issues[name] is None
        mine = [e for e in entries if parent_key(e.get("parentRef") or {}, ns) == key]
        if not mine and class_ok:  # with an unaccepted class, the class is the root cause
            issues.append(_no_status(title, key, gateway, gateway_classes))
        for entry in mine:
            issues += _entry_issues(
                entry, route=route, key=key, gateway=gateway, services=services, grants=grants
            )
    return issues + [issue for issue in class_issues.values() if issue is not None]
