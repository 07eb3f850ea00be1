"""Fixtures for the router tests on the real control plane: our own `Kube` and spare namespaces."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from harness.fixtures import connected

from canary.kube.client import Kube
from canary.kube.resources import NAMESPACE
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster


@pytest.fixture(scope="session")
async def kube(control_plane: ControlPlane | ExistingCluster) -> AsyncIterator[Kube]:
    """The library's own field manager, as the routers write with it (overrides the shared one)."""
    async with connected(control_plane.kubeconfig) as client:
        yield client


@pytest.fixture
async def other_namespace(kube: Kube) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(NAMESPACE, {"metadata": {"name": name}})
    yield name
    await kube.delete(NAMESPACE, name)
