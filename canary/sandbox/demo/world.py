"""The whole demo world on a cluster that runs Pods (the sandbox's control plane with its
controllers and node agent): Contour and its Envoy as the Gateway, the application, Prometheus
scraping Envoy, a steady load, and the operator as a process. The application is, in workload
mode (`settings.workload`, `canary demo`), one Deployment `app` and a Canary naming it, applied
here so that v1 is the operator's primary before the first story; otherwise three demo versions
as Deployments behind Services (also scraped), and the stories declare the Canary.

It only starts, wires and stops things (`async with DemoWorld(...)`); the stories are
`stories.py`, and what is read back from the world is `observe.py`. Everything listens on
loopback or on Pod addresses inside the sandbox's network namespace (`canary.sandbox.netns`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Self, TypeVar

import aiohttp

from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import (
    CANARY,
    DEPLOYMENT,
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    POD,
    SERVICE,
    JsonObj,
    Resource,
)
from canary.sandbox.contour import Contour, ContourEnvoy, GatewayRef, envoy_port
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.observe import wait_for_envoy
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.loadgen import LoadGenerator
from canary.sandbox.processes import LOOPBACK, Child
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget
from canary.sandbox.service import AsyncService

T = TypeVar("T")
START_TIMEOUT = 120.0
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
        self._contour: Contour | None = None
        self._envoy: ContourEnvoy | None = None
        self._load: LoadGenerator | None = None
        self.operator: Child | None = None
        self.url = ""

    @property
    def kube(self) -> Kube:
        return _started(self._kube)

    @property
    def contour(self) -> Contour:
        return _started(self._contour)

    @property
    def envoy(self) -> ContourEnvoy:
        return _started(self._envoy)

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

    async def pods(self, version: str) -> list[JsonObj]:
        """The ready Pods of one version (two-Services mode)."""
        return await self.ready_pods(f"app={m.APP_LABEL},version={version}")

    async def ready_pods(self, selector: str) -> list[JsonObj]:
        """The ready Pods (with an address) that `selector` selects."""
        items, _ = await self.kube.list(POD, self.settings.namespace, label_selector=selector)
        return [
            p
            for p in items
            if _ready(p)
            and p.get("status", {}).get("podIP")
            and not p["metadata"].get("deletionTimestamp")
        ]

    async def set_faults(self, version: str, *, error_rate: float) -> None:
        """Change the share of failed answers of every ready Pod of `version` (the demo app's
        `PUT /-/faults`, sent to each Pod's address inside the sandbox's namespace)."""
        pods = await self.pods(version)
        if not pods:
            raise RuntimeError(f"no ready Pod of {version}")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for pod in pods:
                url = f"http://{pod['status']['podIP']}:{m.CONTAINER_PORT}/-/faults"
                async with session.put(url, json={"error_rate": error_rate}) as response:
                    response.raise_for_status()

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
        s = self.settings
        self._kube = await Kube.connect(kubeconfig=self.kubeconfig, field_manager="demo-user")
        self._stack.push_async_callback(self._kube.close)
        await self.apply(NAMESPACE, m.namespace(s))
        self._stack.push_async_callback(self._delete_namespace)
        await self.apply(GATEWAYCLASS, m.gateway_class(s))
        self._stack.push_async_callback(self._delete_class)
        if s.workload:
            await self.apply(DEPLOYMENT, m.workload_deployment(s, "v1"))
            initial = m.WORKLOAD_WEIGHTS
        else:
            for version in m.VERSIONS:
                await self.apply(SERVICE, m.service_of(s, version))
                await self.apply(DEPLOYMENT, m.deployment(s, version))
            initial = INITIAL_WEIGHTS
        await self.apply(GATEWAY, m.gateway(s))
        await self.apply(HTTPROUTE, m.route(s, initial))
        gateway = GatewayRef(s.namespace, m.GATEWAY_NAME)
        self._contour = await self._stack.enter_async_context(
            Contour(self.kubeconfig, gateway, self.workdir / "contour")
        )
        self._envoy = await self._stack.enter_async_context(
            ContourEnvoy(self.contour, self.workdir / "envoy")
        )
        self.url = f"http://{LOOPBACK}:{envoy_port(s.listener_port)}"
        await self._wait_until_deployed()
        if s.workload:
            # The Canary takes over the Deployment: its running template becomes the primary
            # (no traffic move), and the Deployment is scaled to zero once the route sends
            # 100 % to the primary. Every release after that is one `kubectl set image`.
            self._start_operator()
            await self.apply(CANARY, m.canary(s))
            await self._wait_until_initialised()
        await wait_for_envoy(self, initial)
        await asyncio.to_thread(self.prometheus.set_targets, await self._scrape_targets())
        self._load = await self._stack.enter_async_context(LoadGenerator(self.url, rate=s.rate))
        await asyncio.to_thread(self.prometheus.wait_until_scraped, timeout=START_TIMEOUT)
        if not s.workload:
            self._start_operator()

    async def kill_operator(self) -> None:
        """SIGKILL the operator (no clean shutdown: a crash, a node lost) and start another one
        with the same flags, as its Deployment would."""
        if self.operator is not None:
            old = self.operator
            old.process.kill()
            await asyncio.to_thread(old.process.wait)
            old.stop()  # reaped already: only closes its log
        self._start_operator()

    def _start_operator(self) -> None:
        s = self.settings
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
                *(["--workloads"] if s.workload else []),
            ],
            log_path=self.operator_log,
        )
        self._stack.push_async_callback(asyncio.to_thread, self.operator.stop)

    async def _wait_until_initialised(self) -> None:
        """Workload mode: the operator made v1 the primary, and scaled `app` to zero."""
        while True:
            self.check_operator()
            obj = await self.kube.get_or_none(CANARY, m.CANARY_NAME, self.settings.namespace)
            status = (obj or {}).get("status") or {}
            app = await self.kube.get(DEPLOYMENT, m.WORKLOAD, self.settings.namespace)
            if (
                status.get("phase") == "Succeeded"
                and (status.get("workload") or {}).get("primaryRevision")
                and app["spec"].get("replicas") == 0
            ):
                return
            await asyncio.sleep(0.2)

    async def _wait_until_deployed(self) -> None:
        """Every version's Pods ready, as the Deployment controller counts them."""
        while True:
            if self.settings.workload:
                selector = ",".join(f"{k}={v}" for k, v in m.workload_labels().items())
                ready = [len(await self.ready_pods(selector)) >= self.settings.replicas]
            else:
                ready = [len(await self.pods(v)) >= self.settings.replicas for v in m.VERSIONS]
            if all(ready):
                return
            await asyncio.sleep(0.2)

    async def _scrape_targets(self) -> list[ScrapeTarget]:
        """Envoy's stats (what the gates query) and each version's Pods' own metrics."""
        envoy = ScrapeTarget(
            f"{LOOPBACK}:{self.contour.ports.envoy_stats}",
            job="envoy",
            metrics_path="/stats/prometheus",
        )
        pods = [
            ScrapeTarget(
                f"{pod['status']['podIP']}:{m.CONTAINER_PORT}",
                job="demo-apps",
                labels={
                    "namespace": self.settings.namespace,
                    "service": m.service(version),
                    "pod": pod["metadata"]["name"],
                },
            )
            for version in ([] if self.settings.workload else m.VERSIONS)
            for pod in await self.pods(version)
        ]
        return [envoy, *pods]

    async def _delete_class(self) -> None:
        with contextlib.suppress(KubeError):
            await self.kube.delete(GATEWAYCLASS, self.settings.class_name)

    async def _delete_namespace(self) -> None:
        """The demo's namespace goes with its Deployments, so the node agent stops their Pods."""
        with contextlib.suppress(KubeError):
            await self.kube.delete(NAMESPACE, self.settings.namespace)


def _ready(pod: JsonObj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
