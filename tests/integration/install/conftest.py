"""Fixtures for the install tests: the chart rendered by the real helm and its RBAC applied to the
real API server, a token for its ServiceAccount, and an application (Gateway, Services, route,
a metric gate served through a real Prometheus) for the operator to roll out.

The exporter, Prometheus, `kube` and the GatewayClass are the session's shared ones
(tests/harness/fixtures.py, tests/integration/conftest.py), and the route status is written by
the real Contour (one per test, serving the test's Gateway); the gauge names are this suite's
own, so suites sharing a session never step on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.fixtures import fresh_namespace
from harness.install import (
    RBAC_KINDS,
    App,
    Installed,
    as_yaml,
    container_args,
    render,
    sa_kubeconfig,
)
from harness.manifests import (
    gateway_manifest,
    service_manifest,
    split_route_manifest,
)

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE, SERVICE, JsonObj
from canary.sandbox.contour import Contour
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.exporter import Exporter
from canary.sandbox.prometheus import PrometheusServer

CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding")


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm")


@pytest.fixture(scope="session")
def admin(kube: Kube) -> Kube:
    """The session's `kube`: what the tests do as the cluster's administrator."""
    return kube


@pytest.fixture
async def operator_namespace(admin: Kube) -> AsyncIterator[str]:
    async with fresh_namespace(admin, "op") as name:
        yield name


@pytest.fixture
async def app(admin: Kube, namespace: str, gateway_class: str, contour: Contour,
              exporter: Exporter, prometheus: PrometheusServer) -> App:
    """Gateway `gw` (served by `contour`), Services v1/v2 and api-route in the test's namespace."""
    await admin.create(GATEWAY, gateway_manifest(namespace, gateway_class), namespace)
    for service in ("api-svc-v1", "api-svc-v2"):
        await admin.create(SERVICE, service_manifest(service), namespace)
    route = split_route_manifest(namespace, "api-route", stable="api-svc-v1",
                                 canary="api-svc-v2", hostname="api.example.com")
    await admin.create(HTTPROUTE, route, namespace)
    return App(admin, namespace, exporter, prometheus.url)


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
