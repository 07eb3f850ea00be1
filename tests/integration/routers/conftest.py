"""Fixtures for the router tests on the real control plane: our own `Kube` and spare namespaces."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness.fixtures import connected, fresh_namespace

from canary.kube.client import Kube
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster


@pytest.fixture(scope="session")
async def kube(control_plane: ControlPlane | ExistingCluster) -> AsyncIterator[Kube]:
    """The library's own field manager, as the routers write with it (overrides the shared one)."""
    async with connected(control_plane.kubeconfig) as client:
        yield client


@pytest.fixture
async def other_namespace(kube: Kube) -> AsyncIterator[str]:
    async with fresh_namespace(kube, "t") as name:
        yield name
