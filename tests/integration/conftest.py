"""Fixtures every integration suite on the session's control plane shares (the servers
themselves, exporter, Prometheus and `kube`, come from tests/harness/fixtures.py): the
GatewayClass of the real Contour, and per test a Contour serving the test namespace's Gateway
`gw` (tests/harness/contour.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.app import CLASS_NAME
from harness.contour import contour_for, contour_gateway_class, install_contour_crds

from canary.kube.client import Kube
from canary.sandbox.contour import Contour
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster


@pytest.fixture(scope="session")
async def contour_crds(control_plane: ControlPlane | ExistingCluster) -> None:
    """Contour's own CRDs, installed once for the session."""
    await install_contour_crds(control_plane.kubeconfig)


@pytest.fixture(scope="session")
async def gateway_class(kube: Kube, contour_crds: None) -> AsyncIterator[str]:
    """A GatewayClass of the real Contour's controller name (its status stays as Contour leaves
    it in static mode: never Accepted)."""
    async with contour_gateway_class(kube, CLASS_NAME) as name:
        yield name


@pytest.fixture
async def contour(
    control_plane: ControlPlane | ExistingCluster, namespace: str, gateway_class: str,
    tmp_path: Path,
) -> AsyncIterator[Contour]:
    """The real Contour serving Gateway `gw` of the test's namespace (no Envoy: route status
    only)."""
    async with contour_for(control_plane.kubeconfig, namespace, tmp_path / "contour") as running:
        yield running
