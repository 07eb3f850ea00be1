"""Fixtures for the sandbox data-plane tests (the session's `kube`): per test a fresh gateway.

Each test gets its own Envoy, its own controller name and GatewayClass, so controllers of
different tests never touch each other's Gateways (namespaces linger: no namespace controller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.sandbox_gateway import Sandbox, served_gateway_class

from canary.kube.client import Kube
from canary.sandbox.demoapp import DemoApp


@pytest.fixture
async def sandbox(kube: Kube, namespace: str, tmp_path: Path) -> AsyncIterator[Sandbox]:
    controller_name = f"canary-operator.io/sandbox-gateway-{namespace}"
    class_name = f"sandbox-{namespace}"
    async with served_gateway_class(
        kube, class_name, controller_name, workdir=tmp_path / "envoy"
    ) as controller:
        yield Sandbox(controller, class_name, controller_name)


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[tuple[DemoApp, DemoApp]]:
    """Two demo versions, v1 and v2, healthy and fast."""
    async with (
        DemoApp("v1", log_dir=tmp_path / "apps") as v1,
        DemoApp("v2", log_dir=tmp_path / "apps") as v2,
    ):
        yield v1, v2
