"""The objects a user of the demo would write: a GatewayClass (for Contour), a Gateway, an
HTTPRoute and a Canary (its errors compared with the stable backend's; or, as before comparison
gates, held to a threshold), and the application: in workload mode one Deployment `app` and the
`kubectl set image` of each release; otherwise a Deployment and a Service per version, plus the
two edits that start the second story.

Pure: settings in, JSON-ready dicts out. `docs/quickstart.md` shows the same objects as YAML.
"""

from __future__ import annotations

from enum import StrEnum

from canary.kube.resources import CANARY, GATEWAY_GROUP, JsonObj
from canary.sandbox.demo.settings import DemoSettings

GATEWAY_NAME = "gw"
ROUTE_NAME = "app"
CANARY_NAME = "app"
PORT = 80
CONTAINER_PORT = 8080
VERSIONS = ("v1", "v2", "v3")
APP_LABEL = "demo-app"
IMAGE = "canary-sandbox/demoapp"


def service(version: str) -> str:
    """The Service in front of one version, as a Deployment per version would have."""
    return f"app-{version}"


def namespace(settings: DemoSettings) -> JsonObj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": settings.namespace}}


def gateway_class(settings: DemoSettings) -> JsonObj:
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "GatewayClass",
        "metadata": {"name": settings.class_name},
        "spec": {"controllerName": settings.controller_name},
    }


PRE_STOP_SECONDS = 2  # a stopping Pod answers this long after its endpoint is withdrawn


def labels(version: str) -> dict[str, str]:
    return {"app": APP_LABEL, "version": version}


def image(version: str) -> str:
    """The demo app's image of `version` (the node agent runs `canary-sandbox/demoapp:<tag>`
    as a process; v3's tag is the one that fails 30 % of its requests)."""
    return f"{IMAGE}:{version}"


def _deployment(settings: DemoSettings, name: str, version: str, pod_labels: JsonObj) -> JsonObj:
    probe = {"httpGet": {"path": "/-/healthz", "port": CONTAINER_PORT}, "periodSeconds": 1}
    container = {
        "name": CONTAINER,
        "image": image(version),
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
        "readinessProbe": probe,
        # Time for the endpoint to leave Envoy before the process stops (docs/workloads.md).
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": settings.namespace},
        "spec": {
            "replicas": settings.replicas,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }


def deployment(settings: DemoSettings, version: str) -> JsonObj:
    """One version of the app (two-Services mode): its image tag is the version."""
    return _deployment(settings, service(version), version, labels(version))


# --- workload mode (docs/workloads.md) -------------------------------------------------------

WORKLOAD = "app"  # the Deployment the Canary names
CONTAINER = "app"
PRIMARY, CANARY_BACKEND = "primary", "canary"  # the route's two backends: app-primary, app-canary
WORKLOAD_WEIGHTS = {PRIMARY: 100, CANARY_BACKEND: 0}


def workload_labels() -> dict[str, str]:
    return {"app": APP_LABEL}


def workload_deployment(settings: DemoSettings, version: str = "v1") -> JsonObj:
    """The one Deployment of workload mode: every release is a new image in its pod template
    (`kubectl set image deployment/app app=canary-sandbox/demoapp:v2`)."""
    return _deployment(settings, WORKLOAD, version, workload_labels())


def set_image(version: str) -> list[JsonObj]:
    """A JSON patch that does what `kubectl set image deployment/app
    app=canary-sandbox/demoapp:<version>` does to the demo's Deployment (its one container,
    `app`, is the first)."""
    container = "/spec/template/spec/containers/0"
    return [
        {"op": "test", "path": f"{container}/name", "value": CONTAINER},
        {"op": "replace", "path": f"{container}/image", "value": image(version)},
    ]


def service_of(settings: DemoSettings, version: str) -> JsonObj:
    """The Service in front of one version's Pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service(version), "namespace": settings.namespace},
        "spec": {
            "selector": labels(version),
            "ports": [{"name": "http", "port": PORT, "targetPort": CONTAINER_PORT}],
        },
    }


def gateway(settings: DemoSettings) -> JsonObj:
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY_NAME, "namespace": settings.namespace},
        "spec": {
            "gatewayClassName": settings.class_name,
            "listeners": [{"name": "http", "port": settings.listener_port, "protocol": "HTTP"}],
        },
    }


def backend_refs(weights: dict[str, int]) -> list[JsonObj]:
    """The managed rule's backendRefs: `{version: weight}`, in that order."""
    return [{"name": service(v), "port": PORT, "weight": w} for v, w in weights.items()]


def route(settings: DemoSettings, weights: dict[str, int]) -> JsonObj:
    """The application's route: every path to the versions in `weights`."""
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE_NAME, "namespace": settings.namespace},
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": backend_refs(weights),
                }
            ],
        },
    }


def route_edit(weights: dict[str, int]) -> JsonObj:
    """A merge patch replacing the rule's backends, as `kubectl apply` of the edited route."""
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}
    return {"spec": {"rules": [{**rule, "backendRefs": backend_refs(weights)}]}}


def canary_target(stable: str, canary: str) -> JsonObj:
    """The part of the Canary spec that names what is rolled out: the edit of story 2."""
    return {
        "stable": {"name": service(stable), "port": PORT},
        "canary": {"name": service(canary), "port": PORT},
        "revision": canary,
    }


def workload_target(settings: DemoSettings) -> JsonObj:
    """Workload mode's part of the Canary spec: the Deployment, instead of stable/canary."""
    return {
        "workload": {
            "name": WORKLOAD,
            "port": PORT,
            "targetPort": CONTAINER_PORT,
            "progressDeadline": f"{settings.progress_deadline}s",
        }
    }


class Gates(StrEnum):
    """How the demo's Canary judges the canary's errors."""

    BOTH = "both"
    """The demo's: compared with the stable backend, looked at every `settings.look_every`
    and rolled back at once on conclusive harm; and held to the success-rate threshold at each
    step's check, so that a canary failing it visibly does not advance while the comparison's
    evidence is still coming in (and is rolled back after `failureThreshold` failed checks if
    the comparison has not decided by then)."""
    COMPARISON = "comparison"
    """The comparison alone (the rollback benchmark's second "after")."""
    THRESHOLDS = "thresholds"
    """The success-rate threshold alone, rolled back after `failureThreshold` failed checks
    (the demo before comparison gates; the rollback benchmark's baseline)."""


def success_rate(settings: DemoSettings) -> JsonObj:
    """At least `min_success` % of the canary's answers in the step's window are not 5xx."""
    return {
        "name": "success-rate",
        "template": "contour-success-rate",
        "interval": f"{settings.interval}s",
        "min": settings.min_success,
    }


def errors_comparison(settings: DemoSettings) -> JsonObj:
    """The canary's error rate against the stable's, everything since the rollout started.

    A result not yet conclusive either way counts as Pass at a step's end: at the demo's
    traffic a healthy canary cannot show that it is within 1 point of the stable's error rate
    before it has served several hundred requests (longer than a step at 10 %), and the test
    keeps running at every look, so a bad canary is still rolled back as soon as the evidence
    of harm is conclusive."""
    return {
        "name": "errors",
        "compare": {
            "errorRate": {"template": "contour", "tolerance": settings.tolerance},
            "onInconclusive": "Pass",
        },
    }


def error_gates(settings: DemoSettings, gates: Gates) -> list[JsonObj]:
    if gates is Gates.THRESHOLDS:
        return [success_rate(settings)]
    if gates is Gates.COMPARISON:
        return [errors_comparison(settings)]
    return [errors_comparison(settings), success_rate(settings)]


def canary(
    settings: DemoSettings,
    *,
    stable: str = "",
    canary: str = "",
    gates: Gates = Gates.BOTH,
) -> JsonObj:
    """The demo's Canary; in workload mode (`settings.workload`) it names the Deployment and
    `stable`/`canary` are not used."""
    window = f"{settings.interval}s"
    analysis: JsonObj = {
        "metrics": [
            *error_gates(settings, gates),
            {
                "name": "latency-p99",
                "template": "contour-latency-p99",
                "interval": window,
                "max": settings.max_latency_ms,
            },
        ],
        "failureThreshold": settings.failure_threshold,
        "minRequests": {
            "count": settings.min_requests,
            "template": "contour-request-count",
            "interval": window,
        },
    }
    if gates is not Gates.THRESHOLDS:
        analysis["sequential"] = {"every": f"{settings.look_every}s"}
    return {
        "apiVersion": CANARY.api_version,
        "kind": "Canary",
        "metadata": {"name": CANARY_NAME, "namespace": settings.namespace},
        "spec": {
            "routeRef": {"name": ROUTE_NAME},
            **(workload_target(settings) if settings.workload else canary_target(stable, canary)),
            "steps": {"weights": list(settings.weights), "interval": window},
            "analysis": analysis,
        },
    }
