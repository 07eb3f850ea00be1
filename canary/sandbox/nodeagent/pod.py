"""One Pod bound to the sandbox node, run as local processes until its task is cancelled: an
address from the pod range, a process per container, readiness probes, restarts, and a status
patch whenever what a kubelet would report changes. Cancelling stops every process and frees
the address; deleting the Pod object is the agent's job."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import structlog

from canary.kube.client import Kube
from canary.kube.errors import KubeError, NotFound
from canary.kube.resources import JsonObj
from canary.sandbox.nodeagent.addresses import PodAddresses
from canary.sandbox.nodeagent.container import ContainerProcess
from canary.sandbox.nodeagent.images import Runner, UnknownImage, launch
from canary.sandbox.nodeagent.kinds import POD
from canary.sandbox.nodeagent.probes import HttpProbe, Readiness
from canary.sandbox.nodeagent.status import (
    CREATE_CONTAINER_ERROR,
    ERR_IMAGE_PULL,
    ContainerView,
    PodView,
    State,
    pod_status,
    rfc3339,
)

log = structlog.get_logger(__name__)

TICK_SECONDS = 0.2  # how often exits are noticed and due probes run
DEFAULT_PORT = 8080  # for a container that declares no port
MAX_GRACE_SECONDS = 10.0  # SIGKILL after at most this, whatever the Pod asks for


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


def container_env(container: JsonObj) -> dict[str, str]:
    """The container's literal `env` values (`valueFrom` is not resolved in the sandbox)."""
    return {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}


def container_ports(container: JsonObj) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in container.get("ports") or [] if "name" in p}


def grace_seconds(spec: JsonObj) -> float:
    """The Pod's termination grace period, within the agent's own cap."""
    return min(float(spec.get("terminationGracePeriodSeconds", 30)), MAX_GRACE_SECONDS)


def pre_stop_sleep(spec: JsonObj) -> float:
    """How long a terminating Pod keeps running before its containers get SIGTERM: the longest
    `lifecycle.preStop.sleep.seconds` of its containers (the one preStop action the sandbox
    runs), within the grace period, as the kubelet counts the hook in it. The time lets the
    endpoint leave the proxy's load balancer while the process still answers."""
    sleeps = [
        float(((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0))
        for c in spec.get("containers") or []
    ]
    return min(max(sleeps, default=0.0), grace_seconds(spec))


def main_port(container: JsonObj) -> int:
    ports = container.get("ports") or []
    return int(ports[0]["containerPort"]) if ports else DEFAULT_PORT


class PodWorker:
    """Runs one Pod (`await worker.run()` until cancelled)."""

    def __init__(
        self,
        pod: JsonObj,
        *,
        kube: Kube,
        images: Mapping[str, Runner],
        addresses: PodAddresses,
        host_ip: str,
        log_dir: Path,
        session: aiohttp.ClientSession,
    ) -> None:
        meta = pod["metadata"]
        self.namespace, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.spec: JsonObj = pod["spec"]
        self._kube, self._images, self._addresses = kube, images, addresses
        self.host_ip, self._session = host_ip, session
        self.log_path = log_dir / f"{self.namespace}_{self.name}.log"
        self.start_time = self.ready_since = _now()
        self.pod_ip: str | None = None
        self.containers: list[ContainerProcess] = []
        self.broken: list[ContainerView] = []  # containers that cannot be started at all
        self._written: JsonObj | None = None
        self._ready = False

    @property
    def pids(self) -> list[int]:
        return [c.child.pid for c in self.containers if c.child is not None]

    async def run(self) -> None:
        try:
            self.pod_ip = self._addresses.allocate(self.uid)
            self._plan()
            if self.broken:  # nothing runs; the status says why until the Pod is deleted
                self._addresses.release(self.uid)
                self.pod_ip = None
                await self._write_until_done()
                return
            for container in self.containers:
                container.start()
            while not all(c.finished for c in self.containers):
                await self._tick()
                await asyncio.sleep(TICK_SECONDS)
            await self._write_until_done()
        except NotFound:
            log.info("pod is gone", namespace=self.namespace, pod=self.name)
        except Exception:  # one broken Pod must not take the agent down; its processes stop
            log.exception("pod worker failed", namespace=self.namespace, pod=self.name)
        finally:
            await self._stop()

    def _plan(self) -> None:
        assert self.pod_ip is not None
        policy = str(self.spec.get("restartPolicy", "Always"))
        for spec in self.spec.get("containers", []):
            image = str(spec.get("image", ""))
            try:
                how = launch(
                    self._images,
                    image,
                    host=self.pod_ip,
                    port=main_port(spec),
                    env=container_env(spec),
                )
                probe = HttpProbe.from_spec(spec.get("readinessProbe"), container_ports(spec))
            except UnknownImage as exc:
                self._broken(spec, ERR_IMAGE_PULL, str(exc))
                continue
            except (ValueError, KeyError) as exc:
                self._broken(spec, CREATE_CONTAINER_ERROR, f"cannot run {image}: {exc}")
                continue
            self.containers.append(
                ContainerProcess(
                    spec["name"],
                    image,
                    how,
                    Readiness(probe),
                    restart_policy=policy,
                    log_path=self.log_path,
                )
            )

    def _broken(self, spec: JsonObj, reason: str, message: str) -> None:
        image = str(spec.get("image", ""))
        view = ContainerView(spec["name"], image, "", State.WAITING, reason=reason, message=message)
        self.broken.append(view)
        log.warning("container cannot run", pod=f"{self.namespace}/{self.name}", reason=message)

    async def _tick(self) -> None:
        now = time.monotonic()
        for container in self.containers:
            container.poll()
            probe = container.readiness.probe
            if probe is None or not container.running() or now < container.next_probe:
                continue
            container.next_probe = now + probe.period
            assert self.pod_ip is not None
            container.readiness.record(await probe.check(self._session, self.pod_ip))
        await self._write()

    def view(self) -> PodView:
        containers = [c.view() for c in self.containers] + self.broken
        ready = bool(containers) and all(c.ready and c.state is State.RUNNING for c in containers)
        if ready != self._ready:
            self._ready, self.ready_since = ready, _now()
        return PodView(
            containers=containers,
            host_ip=self.host_ip,
            start_time=self.start_time,
            ready_since=self.ready_since,
            pod_ip=self.pod_ip,
        )

    async def _write(self) -> bool:
        """Patch the Pod's status if it differs from what was last written; False if that
        failed (it is tried again on the next call). Raises NotFound once the Pod is gone."""
        status = pod_status(self.view())
        if status == self._written:
            return True
        try:
            await self._kube.patch(
                POD, self.name, {"status": status}, namespace=self.namespace, subresource="status"
            )
        except NotFound:
            raise
        except KubeError as exc:  # written again on the next tick
            pod = f"{self.namespace}/{self.name}"
            log.warning("pod status write failed", pod=pod, error=str(exc))
            return False
        self._written = status
        return True

    async def _write_until_done(self) -> None:
        """The last status of a Pod that will not change again: retried until it is written."""
        while True:
            if await self._write():
                return
            await asyncio.sleep(1.0)

    async def _stop(self) -> None:
        grace = grace_seconds(self.spec)
        await asyncio.gather(*(c.stop(grace) for c in self.containers), return_exceptions=True)
        self._addresses.release(self.uid)
