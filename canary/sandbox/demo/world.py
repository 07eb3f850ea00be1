"""The whole demo world around one control plane: Envoy and its gateway controller, three demo
versions as Services, Prometheus scraping them, a steady load, and the operator as a process.

It only starts, wires and stops things (`async with DemoWorld(...)`); the stories are
`stories.py`, and what is read back from the world is `observe.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Self, TypeVar

from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import GATEWAY, GATEWAYCLASS, HTTPROUTE, NAMESPACE, JsonObj, Resource
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.observe import wait_for_envoy
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.gateway import GatewayController, register_backend, sandbox_gateway
from canary.sandbox.loadgen import LoadGenerator
from canary.sandbox.processes import LOOPBACK, Child
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget
from canary.sandbox.service import AsyncService

T = TypeVar("T")
START_TIMEOUT = 90.0
# v1 serves everything; v2 is deployed and in the route at weight 0, ready for story 1.
INITIAL_WEIGHTS = {"v1": 100, "v2": 0}


def _started(part: T | None) -> T:
    if part is None:
        raise RuntimeError("the demo world is not started")
    return part


class DemoWorld(AsyncService):
    """Started on `async with`, stopped (everything, in reverse order) on exit."""

    def __init__(
        self,
        kubeconfig: Path,
        prometheus: PrometheusServer,
        *,
        settings: DemoSettings,
        workdir: Path,
    ) -> None:
        self.kubeconfig, self.prometheus, self.settings = kubeconfig, prometheus, settings
        self.workdir = workdir
        self._stack = AsyncExitStack()
        self._kube: Kube | None = None
        self._gateway: GatewayController | None = None
        self._load: LoadGenerator | None = None
        self.apps: dict[str, DemoApp] = {}
        self.operator: Child | None = None
        self.url = ""

    @property
    def kube(self) -> Kube:
        return _started(self._kube)

    @property
    def gateway(self) -> GatewayController:
        return _started(self._gateway)

    @property
    def load(self) -> LoadGenerator:
        return _started(self._load)

    @property
    def operator_log(self) -> Path:
        return self.workdir / "logs" / "operator.log"

    def check_operator(self) -> None:
        """Raise with the operator's last log lines if its process has exited."""
        if self.operator is not None and not self.operator.alive():
            raise RuntimeError(f"the operator exited:\n{self.operator.log_tail()}")

    async def apply(self, res: Resource, obj: JsonObj) -> None:
        """Server-side apply, as `kubectl apply --server-side` would."""
        name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
        await self.kube.patch(res, name, obj, namespace=namespace, patch_type="apply", force=True)

    async def start(self) -> Self:
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        s, logs = self.settings, self.workdir / "logs"
        self._kube = await Kube.connect(kubeconfig=self.kubeconfig, field_manager="demo-user")
        self._stack.push_async_callback(self._kube.close)
        await self.apply(NAMESPACE, m.namespace(s))
        await self.apply(GATEWAYCLASS, m.gateway_class(s))
        self._stack.push_async_callback(self._delete_class)
        self._gateway = await self._stack.enter_async_context(
            sandbox_gateway(
                self.kube, workdir=self.workdir / "envoy", controller_name=s.controller_name
            )
        )
        for seed, version in enumerate(m.VERSIONS):
            app = DemoApp(version, latency=s.latency, log_dir=logs, seed=seed)
            self._stack.push_async_callback(app.stop)
            self.apps[version] = app
        await asyncio.gather(*(app.start() for app in self.apps.values()))
        for version, app in self.apps.items():
            await register_backend(self.kube, s.namespace, m.service(version), m.PORT, app.port)
        await self.apply(GATEWAY, m.gateway(s))
        await self.apply(HTTPROUTE, m.route(s, INITIAL_WEIGHTS))
        self.url = await self.gateway.wait_for_url(s.namespace, m.GATEWAY_NAME, m.PORT)
        await wait_for_envoy(self, INITIAL_WEIGHTS)
        await asyncio.to_thread(self.prometheus.set_targets, self._scrape_targets())
        self._load = await self._stack.enter_async_context(LoadGenerator(self.url, rate=s.rate))
        await asyncio.to_thread(self.prometheus.wait_until_scraped, timeout=START_TIMEOUT)
        self.operator = Child(
            "operator",
            [
                sys.executable,
                "-m",
                "canary",
                "operator",
                f"--kubeconfig={self.kubeconfig}",
                f"--namespace={s.namespace}",
                f"--prometheus={self.prometheus.url}",
                "--log-format=json",
            ],
            log_path=self.operator_log,
        )
        self._stack.push_async_callback(asyncio.to_thread, self.operator.stop)

    def _scrape_targets(self) -> list[ScrapeTarget]:
        """Envoy's per-cluster stats (what the gates query) and each version's own metrics."""
        envoy = ScrapeTarget(
            f"{LOOPBACK}:{self.gateway.envoy.admin_port}",
            job="envoy",
            metrics_path="/stats/prometheus",
        )
        apps = [
            ScrapeTarget(
                f"{LOOPBACK}:{app.port}",
                job="demo-apps",
                labels={"namespace": self.settings.namespace, "service": m.service(version)},
            )
            for version, app in self.apps.items()
        ]
        return [envoy, *apps]

    async def _delete_class(self) -> None:
        with contextlib.suppress(KubeError):
            await self.kube.delete(GATEWAYCLASS, self.settings.class_name)
