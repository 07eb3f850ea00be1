"""Has a controller accepted the GatewayClass? Without one, nothing programs the Gateway.

Pure. The Gateway API CRDs default a new class to Accepted=Unknown ("Waiting for controller"),
so Unknown and missing both mean no controller has claimed the class, as far as the class says.
Some controllers never write it (Contour in static mode leaves it Unknown/Pending: only its
provisioner would), while they accept and program the Gateways of the class. So what decides
is the Gateway's own status: a class nobody claimed is only a hint when its Gateway is accepted
(`gateway_accepted`), and holds otherwise; a class a controller rejected always holds.
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


def gateway_accepted(gateway: JsonObj | None) -> bool:
    """The Gateway's own status says a controller accepted it, for its current generation (a
    missing observedGeneration counts as current, as for routes)."""
    if gateway is None:
        return False
    accepted = condition(gateway.get("status", {}).get("conditions"), "Accepted")
    generation = int(gateway.get("metadata", {}).get("generation") or 0)
    return (
        accepted is not None
        and accepted.get("status") == "True"
        and not is_outdated(accepted, generation)
    )


def _class_state(gateway_class: JsonObj) -> str:
    accepted = condition(gateway_class.get("status", {}).get("conditions"), "Accepted")
    if accepted is None:
        return "no status"
    return f"Accepted is {accepted.get('status')}, {accepted.get('reason')}"


def unclaimed_class_hint(class_name: str, gateway_class: JsonObj, *, used_by: str) -> RouteIssue:
    """The class has no Accepted=True, yet a controller accepted `used_by` (a Gateway): a note,
    not a hold; the route's own status then decides whether it is attached."""
    controller = gateway_class.get("spec", {}).get("controllerName", "")
    return RouteIssue(
        RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED,
        RouteReason.GATEWAY_CLASS_NOT_ACCEPTED,
        f"GatewayClass {class_name!r} (controllerName {controller}) is not accepted "
        f"({_class_state(gateway_class)}), but {used_by} of that class is (its status says "
        f"Accepted=True): the operator goes by the Gateway's and the route's own status. Some "
        f"controllers never write GatewayClass status (Contour in static mode); if yours "
        f"should, check its logs",
    )


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
    state = _class_state(gateway_class)
    return RouteIssue(
        problem,
        RouteReason.GATEWAY_CLASS_NOT_ACCEPTED,
        f"No controller for GatewayClass {class_name!r} (controllerName {controller}) has "
        f"accepted it ({state}), so nothing programs {used_by}: install or start the gateway "
        f"controller whose controllerName is {controller}, or use a class that one accepts",
    )
