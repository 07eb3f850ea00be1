"""A Canary in workload mode as the operator suite's workload tests release it: the Deployment
`app` through `app-primary` / `app-canary`, gated on the test's own gauge (harness.app), and the
user's side it starts from."""

from __future__ import annotations

from canary.kube.resources import CANARY, DEPLOYMENT, HTTPROUTE, JsonObj
from harness.app import App, success_query
from harness.manifests import gate, split_route_manifest
from harness.workloads import DEMO_PORT, demo_deployment_manifest

V2 = "canary-sandbox/demoapp:v2"
V3 = "canary-sandbox/demoapp:v3"


def workload_canary(namespace: str) -> JsonObj:
    return {
        "apiVersion": CANARY.api_version,
        "kind": "Canary",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "routeRef": {"name": "app-route"},
            "workload": {"name": "app", "port": DEMO_PORT, "progressDeadline": "2m"},
            "steps": {"weights": [50], "interval": "2s"},
            "analysis": gate(success_query(namespace), interval=None),
        },
    }


async def workload_app(app: App) -> None:
    """What the user has before the Canary, in `app`'s namespace: the gate passing for
    `app-canary`, the route `app-route` (app.example.com) split between `app-primary` and
    `app-canary`, and the Deployment `app` with 2 replicas."""
    ns, kube = app.namespace, app.kube
    app.set_success(100, service="app-canary")
    await kube.create(HTTPROUTE, split_route_manifest(
        ns, "app-route", stable="app-primary", canary="app-canary", hostname="app.example.com"
    ), ns)
    await kube.create(DEPLOYMENT, demo_deployment_manifest("app", replicas=2), ns)
