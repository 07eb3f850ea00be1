"""Fixtures for the operator tests: a real Prometheus scraping an exporter the test controls (the
shared session servers, tests/harness/fixtures.py), the real Contour writing route status (one
per test, for the test's Gateway: tests/integration/conftest.py), and the operator as a real
process (tests/harness/operators.py); and for the tests that need their own Contour, Gateway and
namespaces, a `contour_world` (tests/harness/contourworld.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from harness.app import (
    App,
    gateway_manifest,
    route_manifest,
    service_manifest,
)
from harness.cli import Cli
from harness.contourworld import ContourWorld, open_contour_world
from harness.operators import Operators

from canary.kube.client import Kube
from canary.kube.resources import GATEWAY, HTTPROUTE, SERVICE
from canary.sandbox.contour import Contour
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.exporter import Exporter
from canary.sandbox.prometheus import PrometheusServer


@pytest.fixture
async def app(
    kube: Kube,
    namespace: str,
    contour: Contour,
    exporter: Exporter,
    prometheus: PrometheusServer,
) -> App:
    """Gateway `gw` (served by `contour`), Services, api-route, in the test's namespace."""
    await kube.create(GATEWAY, gateway_manifest(namespace), namespace)
    for name in ("api-svc-v1", "api-svc-v2", "api-svc-mirror"):
        await kube.create(SERVICE, service_manifest(name), namespace)
    await kube.create(HTTPROUTE, route_manifest(namespace), namespace)
    return App(kube, namespace, exporter, prometheus.url)


@pytest.fixture
def operator(
    control_plane: ControlPlane | ExistingCluster,
    namespace: str,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> Iterator[Operators]:
    """`canary operator` as a real child process, scoped to the test's namespace."""
    process = Operators(control_plane.kubeconfig, [namespace], prometheus.url, tmp_path)
    yield process
    process.stop()


@pytest.fixture
def cli(control_plane: ControlPlane | ExistingCluster, namespace: str) -> Cli:
    """`canary ...` as a subprocess, with the test's kubeconfig and namespace."""
    return Cli(control_plane.kubeconfig, namespace)


@pytest.fixture
async def contour_world(
    kube: Kube,
    control_plane: ControlPlane | ExistingCluster,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> AsyncIterator[ContourWorld]:
    """A world on its own Contour whose Gateway admits every namespace (no route, no Service
    yet), removed after the test."""
    async with open_contour_world(kube, control_plane, prometheus, tmp_path) as world:
        yield world
