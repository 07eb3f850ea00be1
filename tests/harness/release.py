"""A Canary in workload mode as the operator suite's workload tests release it: the Deployment
`app` through `app-primary` / `app-canary`, gated on the test's own gauge (harness.app)."""

from __future__ import annotations

from canary.kube.resources import CANARY, JsonObj
from harness.app import success_query
from harness.manifests import gate
from harness.workloads import DEMO_PORT

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
