"""What `canary check` reports: findings about a Canary's route, Services and metric queries,
each with a severity and a hint on how to fix it.

Pure: observations in, findings out (`gates` judges metric samples). Anything that would hold
or fail the rollout is a BLOCKER; something to know that does not stop it is a WARNING.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from canary.api.conditions import RouteReason
from canary.api.spec import CanarySpec
from canary.core.observations import RouteObservation, RouteProblem
from canary.kube.resources import JsonObj
from canary.providers.queries import QueryProblem


class Severity(StrEnum):
    BLOCKER = "blocker"
    WARNING = "warning"
    OK = "ok"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    subject: str
    message: str
    hint: str = ""


def blocking(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.BLOCKER for f in findings)


def route_hint(problem: RouteProblem, ns: str, route: str, reason: str = "") -> str:
    """What to run or change for an issue: by its specific reason when we know it, else by
    its kind. The issue's own message already names the objects; this says where to look."""
    get = f"kubectl -n {ns} get httproute {route} -o yaml"
    by_reason: dict[str, str] = {
        RouteReason.NO_PARENT_REFS: f"add a parentRef to the route's spec.parentRefs (`{get}`)",
        RouteReason.GATEWAY_NOT_FOUND: "`kubectl get gateways -A`: create the Gateway the "
        "route names, or fix spec.parentRefs[].name/namespace (no namespace means the "
        "route's own)",
        RouteReason.GATEWAY_CLASS_NOT_FOUND: "`kubectl get gatewayclass`: create the class, or "
        "set the Gateway's spec.gatewayClassName to an existing one",
        RouteReason.GATEWAY_CLASS_REJECTED: "`kubectl get gatewayclass -o yaml` and read its "
        "Accepted condition: fix what its controller says (parametersRef, version)",
        RouteReason.NO_PARENT_STATUS: "no gateway controller has written status.parents for "
        "this parent: check that the controller of the Gateway's class runs",
        RouteReason.STATUS_OUTDATED: "wait a few seconds; if it lasts, read the gateway "
        "controller's logs",
        RouteReason.PENDING: "wait a few seconds; if it lasts, read the gateway controller's "
        "logs",
        RouteReason.NOT_ALLOWED_BY_LISTENERS: f"let a listener's allowedRoutes admit namespace "
        f"{ns} (label the namespace to match its selector, or ask the Gateway's owner), and "
        "check that the listener's protocol and allowedRoutes.kinds take this route kind",
        RouteReason.NO_MATCHING_LISTENER_HOSTNAME: "make one of the route's spec.hostnames "
        "match a listener's hostname, or have a listener added for it",
        RouteReason.NO_MATCHING_PARENT: "set spec.parentRefs[].sectionName/port to a listener "
        "the Gateway has, or remove them to attach to every listener",
        RouteReason.PARENT_REF_NOT_PERMITTED: "a parentRef to a Gateway in another namespace "
        "needs a ReferenceGrant in the Gateway's namespace",
        RouteReason.UNSUPPORTED_VALUE: "change the field the controller's message names",
        RouteReason.INCOMPATIBLE_FILTERS: "change or split the filters the controller's "
        "message names",
        RouteReason.BACKEND_NOT_FOUND: f"`kubectl -n {ns} get services`: create the Service, "
        "or fix the backendRef's name and port",
        RouteReason.REF_NOT_PERMITTED: "create the ReferenceGrant the message describes, in "
        "the backend's namespace",
        RouteReason.INVALID_KIND: 'point backendRefs at Services (group "", kind Service)',
        RouteReason.UNSUPPORTED_PROTOCOL: "change the backend Service port's appProtocol to "
        "one the controller supports",
    }
    by_problem = {
        RouteProblem.ROUTE_NOT_FOUND: f"list the routes with `kubectl -n {ns} get httproutes`; "
        "create the route, or fix spec.routeRef.name",
        RouteProblem.BACKENDS_NOT_IN_ROUTE: f"`{get}`: the managed rule needs a backendRef to "
        "each of the stable and canary Services (e.g. weights 100 and 0)",
        RouteProblem.PARENT_NOT_FOUND: by_reason[RouteReason.GATEWAY_NOT_FOUND],
        RouteProblem.NO_PARENT_STATUS: "no gateway controller has written status.parents yet: "
        "check that parentRefs names an existing Gateway whose GatewayClass controller runs",
        RouteProblem.NOT_ACCEPTED: f"`{get}` and read status.parents: the Gateway's controller "
        "says why it refuses the route",
        RouteProblem.REFS_NOT_RESOLVED: "create the Service or ReferenceGrant the message "
        "names, or fix the backendRef",
        RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED: "`kubectl get gatewayclass`: install or start "
        "the controller whose controllerName the class names",
        RouteProblem.INGRESS_CONFLICT: "remove the hostname from the Ingress or from the route",
    }
    return by_reason.get(reason) or by_problem[problem]


def route_findings(obs: RouteObservation, *, namespace: str, route: str) -> list[Finding]:
    """Blockers for the route's issues (or OK), then a warning for each of its hints."""
    return [*_route_state(obs, namespace=namespace, route=route),
            *hint_findings(obs, namespace=namespace, route=route)]


UNCLAIMED_CLASS = (
    "nothing to do if the controller never writes GatewayClass status (Contour in static "
    "mode); otherwise read its logs (`kubectl get gatewayclass -o yaml`)"
)


def hint_findings(obs: RouteObservation, *, namespace: str, route: str) -> list[Finding]:
    """Problems that do not hold the rollout: a class no controller marked accepted while its
    Gateway is accepted, a backendRef fault in a rule the canary does not manage."""
    return [
        Finding(
            Severity.WARNING,
            f"route {route}",
            f"{hint.condition_reason}: {hint.message}",
            UNCLAIMED_CLASS
            if hint.problem is RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED
            else route_hint(hint.problem, namespace, route, hint.condition_reason),
        )
        for hint in obs.hints
    ]


def _route_state(obs: RouteObservation, *, namespace: str, route: str) -> list[Finding]:
    subject = f"route {route}"
    if obs.attached:
        rules = len(obs.rules)
        weight = obs.canary_weight
        return [
            Finding(
                Severity.OK,
                subject,
                f"accepted; manages {rules} rule(s), canary "
                f"weight {'mixed' if weight is None else f'{weight}%'} now",
            )
        ]
    if obs.exists and not obs.issues:
        return [
            Finding(
                Severity.BLOCKER,
                subject,
                "no managed rule found",
                route_hint(RouteProblem.BACKENDS_NOT_IN_ROUTE, namespace, route),
            )
        ]
    return [
        Finding(
            Severity.BLOCKER,
            subject,
            f"{issue.condition_reason}: {issue.message}",
            route_hint(issue.problem, namespace, route, issue.condition_reason),
        )
        for issue in obs.issues
    ]


def service_findings(
    namespace: str, spec: CanarySpec, services: Mapping[tuple[str, str], JsonObj | None]
) -> list[Finding]:
    found = []
    for role, backend in (("stable", spec.stable), ("canary", spec.canary)):
        where = backend.namespace or namespace
        subject, service = f"service {backend.name}", services.get((where, backend.name))
        if service is None:
            found.append(
                Finding(
                    Severity.BLOCKER,
                    subject,
                    f"Service {where}/{backend.name} (the {role} backend) does not exist",
                    f"create it, or fix spec.{role}.name (`kubectl -n {where} get services`)",
                )
            )
            continue
        ports = [p.get("port") for p in (service.get("spec") or {}).get("ports") or []]
        if backend.port not in ports:
            found.append(
                Finding(
                    Severity.BLOCKER,
                    subject,
                    f"Service {where}/{backend.name} has no port {backend.port} (ports: "
                    f"{', '.join(str(p) for p in ports) or 'none'})",
                    f"set spec.{role}.port (and the route's backendRef port) to a port of the "
                    "Service",
                )
            )
        else:
            found.append(Finding(Severity.OK, subject, f"exists, port {backend.port}"))
    return found


def query_findings(problems: Iterable[QueryProblem]) -> list[Finding]:
    """Gates whose query can never be rendered: the operator rejects the whole spec."""
    return [
        Finding(
            Severity.BLOCKER,
            f"spec.{p.field}" if p.gate is None else f"spec.{p.field} ({p.gate})",
            f"the query cannot be rendered: {p.reason}",
            "the operator rejects this spec (InvalidSpec) and moves no traffic: fix the query "
            "(docs/metrics.md, Writing an inline query)",
        )
        for p in problems
    ]
