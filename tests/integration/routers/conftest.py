"""Fixtures for the router tests on the real control plane: our own `Kube` and spare namespaces."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from canary.kube.client import Kube
from canary.kube.resources import NAMESPACE


@pytest.fixture(scope="session")
async def kube(control_plane: Any) -> AsyncIterator[Kube]:
    client = await Kube.connect(kubeconfig=control_plane.kubeconfig)
    yield client
    await client.close()


@pytest.fixture
async def other_namespace(kube: Kube) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(NAMESPACE, {"metadata": {"name": name}})
    yield name
    await kube.delete(NAMESPACE, name)
