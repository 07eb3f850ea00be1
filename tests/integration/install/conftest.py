"""Fixtures for the install tests: the chart rendered by the real helm and its RBAC applied to the
real API server, a token for its ServiceAccount, and an application (Gateway, Services, route,
a metric gate served through a real Prometheus) for the operator to roll out.

Minimal copies of the operator tests' fixtures, under names of their own (GatewayClass
`install-tests`), so both suites can share one session without stepping on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from installkit import (
    RBAC_KINDS,
    App,
    Installed,
    as_yaml,
    container_args,
    render,
    sa_kubeconfig,
)

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, GATEWAYCLASS, HTTPROUTE, NAMESPACE, SERVICE, JsonObj
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.exporter import Exporter
from canary.sandbox.gateway import sandbox_gateway
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget

CLASS_NAME = "install-tests"
CONTROLLER_NAME = "canary-operator.io/install-tests-gateway"
CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding")


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm")


@pytest.fixture(scope="session")
async def admin(control_plane: ControlPlane | ExistingCluster) -> AsyncIterator[Kube]:
    client = await Kube.connect(kubeconfig=control_plane.kubeconfig, field_manager="test-admin")
    async with client:
        yield client


@pytest.fixture(scope="session")
def install_exporter() -> Iterator[Exporter]:
    with Exporter() as running:
        yield running


@pytest.fixture(scope="session")
def install_prometheus(install_exporter: Exporter) -> Iterator[PrometheusServer]:
    with PrometheusServer([ScrapeTarget(install_exporter.target)], scrape_interval="1s") as server:
        server.wait_until_scraped(timeout=90)
        yield server


@pytest.fixture(scope="session")
async def install_gateway_class(
    admin: Kube, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    await admin.create(GATEWAYCLASS, {
        "apiVersion": GATEWAYCLASS.api_version, "kind": "GatewayClass",
        "metadata": {"name": CLASS_NAME}, "spec": {"controllerName": CONTROLLER_NAME},
    })
    try:
        async with sandbox_gateway(admin, workdir=tmp_path_factory.mktemp("envoy-install"),
                                   controller_name=CONTROLLER_NAME):
            yield CLASS_NAME
    finally:
        await admin.delete(GATEWAYCLASS, CLASS_NAME)


@pytest.fixture
async def operator_namespace(admin: Kube) -> AsyncIterator[str]:
    name = f"op-{uuid.uuid4().hex[:10]}"
    await admin.create(NAMESPACE, {"metadata": {"name": name}})
    yield name
    await admin.delete(NAMESPACE, name)


@pytest.fixture
async def app(admin: Kube, namespace: str, install_gateway_class: str,
              install_exporter: Exporter, install_prometheus: PrometheusServer) -> App:
    await admin.create(GATEWAY, {
        "apiVersion": GATEWAY.api_version, "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {"gatewayClassName": install_gateway_class, "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"}]},
    }, namespace)
    for service in ("api-svc-v1", "api-svc-v2"):
        await admin.create(SERVICE, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": service},
            "spec": {"ports": [{"port": 8080, "name": "http"}], "selector": {"app": service}},
        }, namespace)
    await admin.create(HTTPROUTE, {
        "apiVersion": HTTPROUTE.api_version, "kind": "HTTPRoute",
        "metadata": {"name": "api-route", "namespace": namespace},
        "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["api.example.com"], "rules": [{
            "backendRefs": [{"name": "api-svc-v1", "port": 8080, "weight": 100},
                            {"name": "api-svc-v2", "port": 8080, "weight": 0}],
        }]},
    }, namespace)
    return App(admin, namespace, install_exporter, install_prometheus.url)


@pytest.fixture
def install_rbac(
    control_plane: ControlPlane | ExistingCluster, helm_home: Path, tmp_path: Path,
    operator_namespace: str,
) -> Iterator[Callable[[dict[str, Any]], Installed]]:
    """Render the chart with `values`, apply only its ServiceAccount and RBAC (as the admin),
    and mint a token for the ServiceAccount through the TokenRequest API."""
    applied: list[JsonObj] = []

    def install(values: dict[str, Any]) -> Installed:
        release = f"co-{uuid.uuid4().hex[:6]}"
        docs = render(release, operator_namespace, values, home=helm_home)
        rbac = [d for d in docs if d["kind"] in RBAC_KINDS]
        control_plane.kubectl("apply", "-f", "-", input_text=as_yaml(rbac))
        applied.extend(rbac)
        [account] = [d for d in rbac if d["kind"] == "ServiceAccount"]
        token = control_plane.kubectl(
            "create", "token", account["metadata"]["name"], "-n", operator_namespace,
            "--duration=1h",
        ).strip()
        kubeconfig = sa_kubeconfig(control_plane.kubeconfig, token, tmp_path / "sa-kubeconfig")
        return Installed(release, operator_namespace, docs, container_args(docs), kubeconfig,
                         token)

    yield install
    cluster_scoped = [d for d in applied if d["kind"] in CLUSTER_SCOPED]
    if cluster_scoped:
        control_plane.kubectl("delete", "--ignore-not-found", "-f", "-",
                              input_text=as_yaml(cluster_scoped))
