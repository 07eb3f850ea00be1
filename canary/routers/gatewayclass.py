"""Has a controller accepted the GatewayClass? Without one, nothing programs the Gateway.

Pure. The Gateway API CRDs default a new class to Accepted=Unknown ("Waiting for controller"),
so Unknown and missing both mean no controller has claimed the class.
"""

from __future__ import annotations

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.kube.resources import JsonObj


def condition(conditions: object, kind: str) -> JsonObj | None:
    for item in conditions if isinstance(conditions, list) else []:
        if isinstance(item, dict) and item.get("type") == kind:
            return item
    return None


def is_outdated(cond: JsonObj, generation: int) -> bool:
    observed = cond.get("observedGeneration")
    return isinstance(observed, int) and observed < generation


def class_issue(
    class_name: str, gateway_class: JsonObj | None, *, used_by: str
) -> RouteIssue | None:
    """An issue unless some controller has accepted the GatewayClass."""
    problem = RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED
    if gateway_class is None:
        return RouteIssue(
            problem,
            RouteReason.GATEWAY_CLASS_NOT_FOUND,
            f"GatewayClass {class_name!r} used by {used_by} does not exist: create it for your "
            f"gateway controller, or set the Gateway's spec.gatewayClassName to an existing "
            f"class (kubectl get gatewayclass)",
        )
    controller = gateway_class.get("spec", {}).get("controllerName", "")
    accepted = condition(gateway_class.get("status", {}).get("conditions"), "Accepted")
    if accepted is not None and accepted.get("status") == "True":
        return None
    if accepted is not None and accepted.get("status") == "False":
        return RouteIssue(
            problem,
            RouteReason.GATEWAY_CLASS_REJECTED,
            f"The controller {controller} rejected GatewayClass {class_name!r} used by "
            f"{used_by} ({accepted.get('reason')}: {accepted.get('message', '')}): fix the "
            f"class's spec.parametersRef or controller version as that message says",
        )
    state = (
        f"Accepted is {accepted.get('status')}, {accepted.get('reason')}"
        if accepted is not None
        else "no status"
    )
    return RouteIssue(
        problem,
        RouteReason.GATEWAY_CLASS_NOT_ACCEPTED,
        f"No controller for GatewayClass {class_name!r} (controllerName {controller}) has "
        f"accepted it ({state}), so nothing programs {used_by}: install or start the gateway "
        f"controller whose controllerName is {controller}, or use a class that one accepts",
    )
