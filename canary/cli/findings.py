"""What `canary check` reports: findings about a Canary's route, Services and metric queries,
each with a severity and a hint on how to fix it.

Pure: observations in, findings out (`gates` judges metric samples). Anything that would hold
or fail the rollout is a BLOCKER; something to know that does not stop it is a WARNING.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

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


def route_hint(problem: RouteProblem, ns: str, route: str) -> str:
    get = f"kubectl -n {ns} get httproute {route} -o yaml"
    return {
        RouteProblem.ROUTE_NOT_FOUND: f"list the routes with `kubectl -n {ns} get httproutes`; "
        "create the route, or fix spec.routeRef.name",
        RouteProblem.BACKENDS_NOT_IN_ROUTE: f"`{get}`: the managed rule needs a backendRef to "
        "each of the stable and canary Services (e.g. weights 100 and 0)",
        RouteProblem.NO_PARENT_STATUS: "no gateway controller has written status.parents yet: "
        "check that parentRefs names an existing Gateway whose GatewayClass controller runs",
        RouteProblem.NOT_ACCEPTED: f"`{get}` and read status.parents; for NotAllowedByParent, "
        f"let the Gateway listener's allowedRoutes admit namespace {ns}",
        RouteProblem.REFS_NOT_RESOLVED: "create the Service or ReferenceGrant the message "
        "names, or fix the backendRef",
        RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED: "`kubectl get gatewayclass`: install or fix "
        "the controller that serves the class",
        RouteProblem.INGRESS_CONFLICT: "remove the hostname from the Ingress or from the route",
    }[problem]


def route_findings(obs: RouteObservation, *, namespace: str, route: str) -> list[Finding]:
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
            f"{issue.reason}: {issue.message}",
            route_hint(issue.problem, namespace, route),
        )
        for issue in obs.issues
    ]


def service_findings(
    namespace: str, spec: CanarySpec, services: Mapping[str, JsonObj | None]
) -> list[Finding]:
    found = []
    for role, backend in (("stable", spec.stable), ("canary", spec.canary)):
        subject, service = f"service {backend.name}", services.get(backend.name)
        if service is None:
            found.append(
                Finding(
                    Severity.BLOCKER,
                    subject,
                    f"Service {namespace}/{backend.name} (the {role} backend) does not exist",
                    f"create it, or fix spec.{role}.name (`kubectl -n {namespace} get services`)",
                )
            )
            continue
        ports = [p.get("port") for p in (service.get("spec") or {}).get("ports") or []]
        if backend.port not in ports:
            found.append(
                Finding(
                    Severity.BLOCKER,
                    subject,
                    f"Service {namespace}/{backend.name} has no port {backend.port} (ports: "
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
