"""The session servers every suite shares (a pytest plugin, registered by tests/conftest.py):
one exporter the tests steer, one real Prometheus scraping it, and one `Kube` client on the
session's control plane. Suites keep apart by series and namespace names of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from canary.kube.client import Kube
from canary.kube.resources import NAMESPACE
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.exporter import Exporter
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget


@asynccontextmanager
async def connected(kubeconfig: Path, field_manager: str | None = None) -> AsyncIterator[Kube]:
    """A `Kube` on `kubeconfig` (the library's own field manager unless one is named)."""
    if field_manager is None:
        client = await Kube.connect(kubeconfig=kubeconfig)
    else:
        client = await Kube.connect(kubeconfig=kubeconfig, field_manager=field_manager)
    async with client:
        yield client


async def create_namespace(kube: Kube, prefix: str, *, digits: int = 10) -> str:
    """A namespace of a fresh random name, `prefix-<hex>`."""
    name = f"{prefix}-{uuid.uuid4().hex[:digits]}"
    await kube.create(NAMESPACE, {"metadata": {"name": name}})
    return name


@asynccontextmanager
async def fresh_namespace(kube: Kube, prefix: str) -> AsyncIterator[str]:
    """A namespace of a fresh random name, deleted afterwards."""
    name = await create_namespace(kube, prefix)
    yield name
    await kube.delete(NAMESPACE, name)


@pytest.fixture(scope="session")
def exporter() -> Iterator[Exporter]:
    with Exporter() as running:
        yield running


@pytest.fixture(scope="session")
def prometheus(exporter: Exporter) -> Iterator[PrometheusServer]:
    with PrometheusServer([ScrapeTarget(exporter.target)], scrape_interval="1s") as server:
        server.wait_until_scraped(timeout=90)
        yield server


@pytest.fixture(scope="session")
async def kube(control_plane: ControlPlane | ExistingCluster) -> AsyncIterator[Kube]:
    async with connected(control_plane.kubeconfig, "test-user") as client:
        yield client
