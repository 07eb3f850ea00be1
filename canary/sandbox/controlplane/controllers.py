"""Run the real kube-controller-manager and kube-scheduler (built by `controlplane.build`)
against a sandbox `ControlPlane`, on loopback, so Deployments, ReplicaSets, scheduling and
EndpointSlices behave as on a real cluster. Pods still need a node: see `canary.sandbox.nodeagent`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Self

import aiohttp

from canary.sandbox.controlplane import build, versions
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.service import AsyncService, ServerProcess

CLUSTER_NAME = "canary-sandbox"
# No node IPAM: the node agent hands out pod addresses itself (and the Node has no podCIDR).
CONTROLLERS = "*,-nodeipam"


class ControllersError(RuntimeError):
    """kube-controller-manager or kube-scheduler did not start."""


def controller_manager_command(
    binary: Path, plane: ControlPlane, *, port: int, cluster_name: str = CLUSTER_NAME
) -> list[str]:
    """kube-controller-manager on loopback: every controller but node IPAM, no leader election,
    the sandbox's service-account key and CA (for the token and root-CA controllers)."""
    return [
        str(binary),
        f"--kubeconfig={plane.kubeconfig}",
        f"--controllers={CONTROLLERS}",
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--service-account-private-key-file={plane.pki.sa_private}",
        f"--root-ca-file={plane.pki.ca_cert}",
        f"--cluster-name={cluster_name}",
        "--v=0",
    ]


def scheduler_command(binary: Path, plane: ControlPlane, *, port: int) -> list[str]:
    """kube-scheduler on loopback, no leader election."""
    return [
        str(binary),
        f"--kubeconfig={plane.kubeconfig}",
        "--leader-elect=false",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        "--v=0",
    ]


class _Controller(ServerProcess):
    """One of the two binaries: ready once `/healthz` on its (self-signed) secure port says 200."""

    def __init__(self, name: str, cmd: list[str], *, port: int, workdir: Path) -> None:
        super().__init__(workdir, prefix=f"canary-{name}-")
        self.name, self.cmd, self.port = name, cmd, port

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    async def start(self) -> Self:
        await self._spawn(
            self.name, self.cmd, self._healthy, log_path=self.log_path, error=ControllersError
        )
        return self

    async def _healthy(self, session: aiohttp.ClientSession) -> bool:
        # Its serving certificate is self-signed and made at start: nothing to verify it with.
        url = f"https://{LOOPBACK}:{self.port}/healthz"
        async with session.get(url, ssl=False) as response:
            return response.status == 200

    def log_tail(self, lines: int = 40) -> str:
        return self._child.log_tail(lines) if self._child else ""


class Controllers(AsyncService):
    """`async with Controllers(plane) as controllers:` starts kube-controller-manager and
    kube-scheduler, returns once both are healthy, and stops both on exit (removing the work
    directory if it made one). Never builds: the binaries must be in the build cache already
    or `ensure_kube_controllers` builds them (~1 min, once)."""

    def __init__(
        self,
        plane: ControlPlane,
        workdir: Path | None = None,
        *,
        version: str = versions.KUBERNETES_VERSION,
    ) -> None:
        self.plane = plane
        self.version = version
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="canary-controllers-"))
        self.manager: _Controller | None = None
        self.scheduler: _Controller | None = None

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in (self.manager, self.scheduler) if c is not None and c.pid]

    async def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        binaries = await asyncio.to_thread(build.ensure_kube_controllers, self.version)
        manager_port, scheduler_port = free_port(), free_port()
        self.manager = _Controller(
            "kube-controller-manager",
            controller_manager_command(
                binaries["kube-controller-manager"], self.plane, port=manager_port
            ),
            port=manager_port,
            workdir=self.workdir,
        )
        self.scheduler = _Controller(
            "kube-scheduler",
            scheduler_command(binaries["kube-scheduler"], self.plane, port=scheduler_port),
            port=scheduler_port,
            workdir=self.workdir,
        )
        results = await asyncio.gather(
            self.manager.start(), self.scheduler.start(), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.stop()
            raise failures[0]
        return self

    def alive(self) -> bool:
        return all(c is not None and c.alive() for c in (self.manager, self.scheduler))

    def log_tail(self, lines: int = 40) -> str:
        parts = [f"--- {c.name}\n{c.log_tail(lines)}" for c in (self.manager, self.scheduler) if c]
        return "\n".join(parts)

    async def stop(self) -> None:
        for controller in (self.scheduler, self.manager):
            if controller is not None:
                await controller.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
