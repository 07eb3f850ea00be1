"""Fixtures of the fault suite: a control plane of its own (its API server gets stopped and
restarted), the session's real Prometheus scraping the exporter the tests steer (shared:
tests/harness/fixtures.py; scenarios that stop it start it again), and per test a namespace
and the real Contour serving its Gateway, writing the route status (a scenario may stop and
restart it: tests/faults/faultkit.py `ContourServer`).

The suite never runs against `CANARY_TEST_KUBECONFIG`: it kills and restarts servers, so it
needs servers it owns. Every test here carries the `faults` marker.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faults.faultkit import CLASS_NAME, App, ContourServer, results_dir
from harness.contour import contour_gateway_class, install_contour_crds
from harness.fixtures import connected, create_namespace
from harness.operators import Operators

from canary.kube.client import Kube
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.exporter import Exporter
from canary.sandbox.prometheus import PrometheusServer

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
    async with connected(fault_plane.kubeconfig, "fault-tests") as client:
        yield client


@pytest.fixture(scope="session")
async def fault_gateway_class(fault_plane: ControlPlane, fault_kube: Kube) -> AsyncIterator[str]:
    """Contour's CRDs and a GatewayClass of its controller name, on the suite's own plane."""
    await install_contour_crds(fault_plane.kubeconfig)
    async with contour_gateway_class(fault_kube, CLASS_NAME, keep=True) as name:
        yield name


@pytest.fixture
async def fault_namespace(fault_kube: Kube) -> str:
    """A fresh namespace. Not deleted: a bare API server has no namespace controller to empty
    it, and the whole plane goes away with the session."""
    return await create_namespace(fault_kube, "f", digits=8)


@pytest.fixture
async def fault_gateway(
    fault_plane: ControlPlane, fault_namespace: str, fault_gateway_class: str, tmp_path: Path
) -> AsyncIterator[ContourServer]:
    """The real Contour serving the test namespace's Gateway `gw` (no Envoy: route status only;
    the metrics come from the exporter the tests steer)."""
    server = ContourServer(fault_plane.kubeconfig, fault_namespace, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def fault_app(
    fault_kube: Kube,
    fault_namespace: str,
    exporter: Exporter,
    fault_gateway: ContourServer,
    prometheus: PrometheusServer,
) -> App:
    return App(fault_kube, fault_namespace, exporter)


@pytest.fixture
def operators(
    fault_plane: ControlPlane,
    fault_namespace: str,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> Iterator[Operators]:
    group = Operators(
        fault_plane.kubeconfig, [fault_namespace], prometheus.url, tmp_path,
        env={"CANARY_FAILPOINTS": ""},
    )
    yield group
    group.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures of the scenarios that ran, as a table (see tests/faults/report.py)."""
    from faults.report import table

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
