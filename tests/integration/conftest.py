"""Fixtures every integration suite on the session's control plane shares (the servers
themselves, exporter, Prometheus and `kube`, come from tests/harness/fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness.app import CLASS_NAME, CONTROLLER_NAME
from harness.manifests import served_gateway_class

from canary.kube.client import Kube


@pytest.fixture(scope="session")
async def gateway_class(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A GatewayClass served by the sandbox gateway controller (a real Envoy behind it)."""
    envoy = tmp_path_factory.mktemp("envoy")
    async with served_gateway_class(kube, CLASS_NAME, CONTROLLER_NAME, workdir=envoy):
        yield CLASS_NAME
