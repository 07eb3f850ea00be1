"""Fixtures for the sandbox data-plane tests: a Kube client, and per test a fresh gateway.

Each test gets its own Envoy, its own controller name and GatewayClass, so controllers of
different tests never touch each other's Gateways (namespaces linger: no namespace controller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gatewaykit import Sandbox, gateway_class

from canary.kube.client import Kube
from canary.kube.resources import GATEWAYCLASS
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.gateway import sandbox_gateway


@pytest.fixture(scope="session")
async def kube(control_plane: ControlPlane | ExistingCluster) -> AsyncIterator[Kube]:
    client = await Kube.connect(kubeconfig=control_plane.kubeconfig, field_manager="sandbox-tests")
    async with client:
        yield client


@pytest.fixture
async def sandbox(kube: Kube, namespace: str, tmp_path: Path) -> AsyncIterator[Sandbox]:
    controller_name = f"canary-operator.io/sandbox-gateway-{namespace}"
    class_name = f"sandbox-{namespace}"
    await kube.create(GATEWAYCLASS, gateway_class(class_name, controller_name))
    try:
        async with sandbox_gateway(
            kube, workdir=tmp_path / "envoy", controller_name=controller_name
        ) as controller:
            yield Sandbox(controller, class_name, controller_name)
    finally:
        await kube.delete(GATEWAYCLASS, class_name)


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[tuple[DemoApp, DemoApp]]:
    """Two demo versions, v1 and v2, healthy and fast."""
    async with (
        DemoApp("v1", log_dir=tmp_path / "apps") as v1,
        DemoApp("v2", log_dir=tmp_path / "apps") as v2,
    ):
        yield v1, v2
