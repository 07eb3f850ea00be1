"""Fixtures for the operator tests: a real Prometheus scraping an exporter the test controls,
the sandbox gateway controller writing real route status, and the operator as a real process.

Every metric check in these tests is a real PromQL result; every weight is read back from the
real API server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from canary.kube.client import Kube
from canary.kube.resources import CANARY, EVENT, GATEWAY, GATEWAYCLASS, HTTPROUTE, SERVICE
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.exporter import Exporter
from canary.sandbox.gateway import sandbox_gateway
from canary.sandbox.processes import Child
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget

T = TypeVar("T")
JsonObj = dict[str, Any]
CONTROLLER_NAME = "canary-operator.io/operator-tests-gateway"
CLASS_NAME = "operator-tests"


def gauge_name(namespace: str) -> str:
    """Each test serves its own gauge, so removing it never touches another test's series."""
    return "canary_test_success_" + namespace.replace("-", "_")


def success_query(namespace: str) -> str:
    """The inline gate every test Canary uses: the test's gauge for the canary Service."""
    return gauge_name(namespace) + '{service="{{ canary_service }}"}'


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
    client = await Kube.connect(kubeconfig=control_plane.kubeconfig, field_manager="test-user")
    async with client:
        yield client


@pytest.fixture(scope="session")
async def gateway_class(
    kube: Kube,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """A GatewayClass served by the sandbox gateway controller (a real Envoy behind it)."""
    await kube.create(
        GATEWAYCLASS,
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": CLASS_NAME},
            "spec": {"controllerName": CONTROLLER_NAME},
        },
    )
    try:
        async with sandbox_gateway(
            kube, workdir=tmp_path_factory.mktemp("envoy"), controller_name=CONTROLLER_NAME
        ):
            yield CLASS_NAME
    finally:
        await kube.delete(GATEWAYCLASS, CLASS_NAME)


def gateway_manifest(namespace: str, *, allowed_from: str = "Same") -> JsonObj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {
            "gatewayClassName": CLASS_NAME,
            "listeners": [
                {
                    "name": "http",
                    "port": 80,
                    "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": allowed_from}},
                }
            ],
        },
    }


def service_manifest(name: str) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 8080, "name": "http"}], "selector": {"app": name}},
    }


def route_manifest(namespace: str, *, gateway_namespace: str | None = None) -> JsonObj:
    """api-route: the managed rule (v1/v2) plus everything a user might have written."""
    parent: JsonObj = {"name": "gw"}
    if gateway_namespace:
        parent["namespace"] = gateway_namespace
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "api-route",
            "namespace": namespace,
            "annotations": {"team.example.com/owner": "api-team"},
            "labels": {"app": "api"},
        },
        "spec": {
            "parentRefs": [parent],
            "hostnames": ["api.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "add": [{"name": "X-Canary-Test", "value": "yes"}]
                            },
                        }
                    ],
                    "backendRefs": [
                        {"name": "api-svc-v1", "port": 8080, "weight": 100},
                        {"name": "api-svc-v2", "port": 8080, "weight": 0},
                        {"name": "api-svc-mirror", "port": 8080, "weight": 0},
                    ],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/legacy"}}],
                    "backendRefs": [{"name": "api-svc-v1", "port": 8080}],
                },
            ],
        },
    }


def canary_manifest(namespace: str, **spec_overrides: Any) -> JsonObj:
    spec: JsonObj = {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-svc-v1", "port": 8080},
        "canary": {"name": "api-svc-v2", "port": 8080},
        "steps": {"weights": [5, 25, 50, 75], "interval": "1s"},
        "analysis": {
            "failureThreshold": 2,
            "metrics": [
                {
                    "name": "success-rate",
                    "query": success_query(namespace),
                    "min": 99,
                    "interval": "5s",
                }
            ],
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": CANARY.api_version,
        "kind": "Canary",
        "metadata": {"name": "api", "namespace": namespace},
        "spec": spec,
    }


@dataclass
class App:
    """One test's application namespace: Gateway, Services, route, and metric controls."""

    kube: Kube
    namespace: str
    exporter: Exporter
    prometheus_url: str

    def set_success(self, percent: float | None, service: str = "api-svc-v2") -> None:
        """Serve the gate's gauge (None: remove it, so the query returns no data)."""
        if percent is None:
            self.exporter.remove(gauge_name(self.namespace))
        else:
            self.exporter.set_gauge(gauge_name(self.namespace), {"service": service}, percent)

    async def route(self) -> JsonObj:
        return await self.kube.get(HTTPROUTE, "api-route", self.namespace)

    async def weights(self) -> tuple[int, int]:
        refs = (await self.route())["spec"]["rules"][0]["backendRefs"]
        return int(refs[0].get("weight", 1)), int(refs[1].get("weight", 1))

    async def canary(self) -> JsonObj:
        return await self.kube.get(CANARY, "api", self.namespace)

    async def status(self) -> JsonObj:
        return (await self.canary()).get("status") or {}

    async def create_canary(self, **spec: Any) -> None:
        await self.kube.create(CANARY, canary_manifest(self.namespace, **spec), self.namespace)

    async def request(self, kind: str) -> str:
        nonce = uuid.uuid4().hex[:12]
        await self.kube.patch(
            CANARY, "api", {"spec": {"requests": {kind: nonce}}}, namespace=self.namespace
        )
        return nonce

    async def events(self) -> list[JsonObj]:
        items, _ = await self.kube.list(EVENT, self.namespace)
        return sorted(items, key=lambda e: e.get("eventTime") or "")

    async def event_reasons(self) -> list[str]:
        return [e.get("reason", "") for e in await self.events()]

    async def wait_for_events(self, *reasons: str, within: float = 30) -> list[str]:
        """Events are recorded after the status write: wait until all `reasons` appear."""

        async def present() -> list[str] | None:
            found = await self.event_reasons()
            return found if all(r in found for r in reasons) else None

        return await eventually(present, within=within, what=f"events {reasons}")


@pytest.fixture
async def app(
    kube: Kube, namespace: str, gateway_class: str, exporter: Exporter, prometheus: PrometheusServer
) -> App:
    await kube.create(GATEWAY, gateway_manifest(namespace), namespace)
    for name in ("api-svc-v1", "api-svc-v2", "api-svc-mirror"):
        await kube.create(SERVICE, service_manifest(name), namespace)
    await kube.create(HTTPROUTE, route_manifest(namespace), namespace)
    return App(kube, namespace, exporter, prometheus.url)


@dataclass
class OperatorProcess:
    """`canary operator` as a real child process, scoped to one namespace."""

    kubeconfig: Path
    namespace: str
    prometheus_url: str
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, *, resync: float = 30) -> Child:
        child = Child(
            f"operator-{len(self.children)}",
            [
                sys.executable,
                "-m",
                "canary",
                "operator",
                f"--kubeconfig={self.kubeconfig}",
                f"--namespace={self.namespace}",
                f"--prometheus={self.prometheus_url}",
                "--log-format=json",
                f"--resync={resync}",
            ],
            log_path=self.log_dir / f"operator-{len(self.children)}.log",
        )
        self.children.append(child)
        return child

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a node failure."""
        for child in self.children:
            if child.alive():
                child.process.kill()
                child.process.wait()

    def log_lines(self) -> list[JsonObj]:
        lines = []
        for child in self.children:
            for raw in child.log_path.read_text().splitlines():
                if raw.startswith("{"):
                    lines.append(json.loads(raw))
        return lines

    def stop(self) -> None:
        for child in self.children:
            child.stop()


@pytest.fixture
def operator(
    control_plane: ControlPlane | ExistingCluster,
    namespace: str,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(control_plane.kubeconfig, namespace, prometheus.url, tmp_path)
    yield process
    process.stop()


async def eventually(
    check: Callable[[], Awaitable[T | bool | None]], *, within: float = 60, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail after `within` seconds."""
    last: object = None
    try:
        async with asyncio.timeout(within):
            while True:
                last = await check()
                if last:
                    return last  # type: ignore[return-value]
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {within}s waiting for {what}; last: {last!r}"
        ) from None


def condition(status: JsonObj, type_: str) -> JsonObj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), None)
