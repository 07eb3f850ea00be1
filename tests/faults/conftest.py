"""Fixtures of the fault suite: a control plane of its own (its API server gets stopped and
restarted), a real Prometheus scraping an exporter the tests steer, the sandbox gateway
controller (pausable) writing real route status, and a namespace per test.

The suite never runs against `CANARY_TEST_KUBECONFIG`: it kills and restarts servers, so it
needs servers it owns. Every test here carries the `faults` marker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faultkit import CLASS_NAME, CONTROLLER_NAME, App, Operators, results_dir

from canary.kube.client import Kube
from canary.kube.resources import GATEWAYCLASS, NAMESPACE
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.exporter import Exporter
from canary.sandbox.gateway import GatewayController, sandbox_gateway
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget

REPO = Path(__file__).resolve().parents[2]
SESSION_STARTED = time.time()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def fault_plane() -> Iterator[ControlPlane]:
    with ControlPlane(extra_crd_dirs=[REPO / "crds"]) as plane:
        yield plane


@pytest.fixture(scope="session")
async def fault_kube(fault_plane: ControlPlane) -> AsyncIterator[Kube]:
    client = await Kube.connect(kubeconfig=fault_plane.kubeconfig, field_manager="fault-tests")
    async with client:
        yield client


@pytest.fixture(scope="session")
def fault_exporter() -> Iterator[Exporter]:
    with Exporter() as running:
        yield running


@pytest.fixture(scope="session")
def fault_prometheus(fault_exporter: Exporter) -> Iterator[PrometheusServer]:
    with PrometheusServer([ScrapeTarget(fault_exporter.target)], scrape_interval="1s") as server:
        server.wait_until_scraped(timeout=90)
        yield server


@pytest.fixture(scope="session")
async def fault_gateway(
    fault_kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayController]:
    await fault_kube.create(
        GATEWAYCLASS,
        {
            "apiVersion": GATEWAYCLASS.api_version,
            "kind": "GatewayClass",
            "metadata": {"name": CLASS_NAME},
            "spec": {"controllerName": CONTROLLER_NAME},
        },
    )
    async with sandbox_gateway(
        fault_kube, workdir=tmp_path_factory.mktemp("envoy-faults"), controller_name=CONTROLLER_NAME
    ) as controller:
        yield controller
        controller.resume_status()


@pytest.fixture
async def fault_namespace(fault_kube: Kube) -> str:
    """A fresh namespace. Not deleted: a bare API server has no namespace controller to empty
    it, and the whole plane goes away with the session."""
    name = f"f-{uuid.uuid4().hex[:8]}"
    await fault_kube.create(NAMESPACE, {"metadata": {"name": name}})
    return name


@pytest.fixture
async def fault_app(
    fault_kube: Kube,
    fault_namespace: str,
    fault_exporter: Exporter,
    fault_gateway: GatewayController,
    fault_prometheus: PrometheusServer,
) -> App:
    return App(fault_kube, fault_namespace, fault_exporter)


@pytest.fixture
def operators(
    fault_plane: ControlPlane,
    fault_namespace: str,
    fault_prometheus: PrometheusServer,
    tmp_path: Path,
) -> Iterator[Operators]:
    group = Operators(fault_plane.kubeconfig, [fault_namespace], fault_prometheus.url, tmp_path)
    yield group
    group.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures of the scenarios that ran, as a table (see tests/faults/report.py)."""
    from report import table

    directory = results_dir()
    if not directory.is_dir():
        return
    rows = []
    for path in sorted(directory.glob("*.json")):
        if path.stat().st_mtime < SESSION_STARTED:
            continue  # only what this run measured
        try:
            rows.append(json.loads(path.read_text()))
        except ValueError:
            continue
    if rows:
        terminalreporter.write_sep("-", "fault suite figures")
        terminalreporter.write_line(table(rows))
