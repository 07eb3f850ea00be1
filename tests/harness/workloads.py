"""Real Pods in the tests (a pytest plugin, registered by tests/conftest.py): the session fixture
`workloads` runs the real kube-controller-manager and kube-scheduler and the sandbox node agent
on the session's control plane, and the builders below make a demo app Deployment and Service.

Once a test asked for `workloads`, the controllers run until the session ends: for the rest of
the session namespaces are really deleted and Services with selectors get EndpointSlices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from canary.controller.caches import Caches
from canary.controller.clock import RealClock
from canary.controller.informer import Informer
from canary.kube.client import Kube
from canary.kube.resources import DEPLOYMENT, JsonObj, Resource
from canary.sandbox.controlplane.controllers import Controllers
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.nodeagent import NodeAgent

DEMO_PORT = 8080
# Short in tests: a lease renewal shows within seconds (the kubelet's is 10 s).
LEASE_SECONDS = 2.0


@dataclass(frozen=True)
class Workloads:
    """What runs Pods in this session."""

    kubeconfig: Path
    controllers: Controllers
    agent: NodeAgent


@pytest.fixture(scope="session")
async def workloads(
    control_plane: ControlPlane | ExistingCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Workloads]:
    if not isinstance(control_plane, ControlPlane):
        pytest.skip("an existing cluster runs its own controllers and kubelets")
    workdir = tmp_path_factory.mktemp("workloads")
    async with (
        Controllers(control_plane, workdir / "controllers") as controllers,
        NodeAgent(
            control_plane.kubeconfig, workdir=workdir / "node", lease_seconds=LEASE_SECONDS
        ) as agent,
    ):
        yield Workloads(control_plane.kubeconfig, controllers, agent)


@dataclass
class RecordedEvents:
    """The event sink of `Effects` in tests that call the executor directly: (type, reason,
    message) of each event, in order."""

    said: list[tuple[str, str, str]] = field(default_factory=list)

    async def emit(self, obj: JsonObj, *, type: str, reason: str, message: str) -> None:
        self.said.append((type, reason, message))


@contextlib.asynccontextmanager
async def informed(
    kube: Kube, namespace: str, resources: Iterable[Resource]
) -> AsyncIterator[Caches]:
    """Informers of `resources` in `namespace` into `Caches`, as `kube` (list and watch with its
    credentials), as the operator runs them; yields once all have synced, stops them after."""
    caches = Caches()

    async def ignore(old: JsonObj | None, new: JsonObj | None) -> None:
        return None

    for resource in resources:
        caches.by_kind[resource.plural] = [
            Informer(kube, resource, clock=RealClock(), on_change=ignore, namespace=namespace)
        ]
    tasks = [asyncio.create_task(i.run()) for i in caches.all()]
    try:
        for informer in caches.all():
            await asyncio.wait_for(informer.synced.wait(), 30)
        yield caches
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def demo_container(
    image: str, *, env: dict[str, str] | None = None, pre_stop_sleep: int | None = None
) -> JsonObj:
    """One demo app container on port 8080 with a readiness probe every second;
    `pre_stop_sleep` gives it a `lifecycle.preStop.sleep` of that many seconds (the kubelet's,
    which the node agent runs: it stops only once its endpoint has left the proxy)."""
    container: JsonObj = {
        "name": "app",
        "image": image,
        "ports": [{"name": "http", "containerPort": DEMO_PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/-/healthz", "port": "http"},
            "periodSeconds": 1,
        },
    }
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if pre_stop_sleep is not None:
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": pre_stop_sleep}}}
    return container


def demo_deployment_manifest(
    name: str,
    *,
    image: str = "demoapp:v1",
    replicas: int = 2,
    env: dict[str, str] | None = None,
) -> JsonObj:
    """A Deployment of the demo app, Pods labelled `app: <name>`, rolling one at a time."""
    labels = {"app": name}
    return {
        "apiVersion": DEPLOYMENT.api_version,
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [demo_container(image, env=env, pre_stop_sleep=2)],
                    "terminationGracePeriodSeconds": 5,
                },
            },
        },
    }


def demo_service_manifest(name: str) -> JsonObj:
    """A Service selecting the Pods of `demo_deployment_manifest(name)`."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": DEMO_PORT, "targetPort": "http"}],
        },
    }


def demo_pod_manifest(
    name: str,
    image: str,
    *,
    restart_policy: str = "Always",
    env: dict[str, str] | None = None,
    pre_stop_sleep: int | None = None,
) -> JsonObj:
    """A bare Pod (no controller) of one demo container."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "containers": [demo_container(image, env=env, pre_stop_sleep=pre_stop_sleep)],
            "restartPolicy": restart_policy,
            "terminationGracePeriodSeconds": 5,
        },
    }
