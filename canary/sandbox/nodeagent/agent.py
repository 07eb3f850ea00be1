"""The sandbox's one stand-in for the kubelet: a Node that stays Ready, and the Pods bound to
it run as local processes (see docs/sandbox-node-agent.md).

Level-based: a watch keeps every Pod in a cache, and each change re-reads which Pods of this
node need a worker, which need stopping and which are terminating and must be force-deleted.
On exit it stops every process it started; the Pod objects stay in the API as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Self

import aiohttp
import structlog

from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import JsonObj
from canary.sandbox.controlplane.launcher import ExistingCluster
from canary.sandbox.nodeagent import node
from canary.sandbox.nodeagent.addresses import PodAddresses
from canary.sandbox.nodeagent.images import SANDBOX_IMAGES, Runner
from canary.sandbox.nodeagent.kinds import POD
from canary.sandbox.nodeagent.pod import PodWorker, pre_stop_sleep
from canary.sandbox.processes import LOOPBACK
from canary.sandbox.service import AsyncService, cancel_and_wait
from canary.sandbox.watch import ResourceWatch

log = structlog.get_logger(__name__)

LEASE_RENEW_SECONDS = 10.0
HEARTBEATS_PER_STATUS = 6  # the Node's status is written again every sixth Lease renewal
FIELD_MANAGER = "canary-node-agent"


class NodeAgent(AsyncService):
    """`async with NodeAgent(kubeconfig, workdir=d) as agent:` registers the Node, runs the
    Pods scheduled to it until the block ends, then stops their processes. Pod logs go to
    `workdir/pods/<namespace>_<pod>.log`."""

    def __init__(
        self,
        kubeconfig: Path,
        *,
        workdir: Path,
        node_name: str = "sandbox-node",
        images: Mapping[str, Runner] = SANDBOX_IMAGES,
        host_ip: str = LOOPBACK,
        lease_seconds: float = LEASE_RENEW_SECONDS,
    ) -> None:
        self.kubeconfig, self.workdir, self.node_name = kubeconfig, workdir, node_name
        self.images, self.host_ip, self.lease_seconds = images, host_ip, lease_seconds
        self.addresses = PodAddresses()
        self.workers: dict[str, PodWorker] = {}  # by Pod uid
        self._tasks: dict[str, asyncio.Task[None]] = {}  # the workers' tasks, by Pod uid
        self._deleting: set[str] = set()
        self._background: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._kube: Kube | None = None
        self._session: aiohttp.ClientSession | None = None
        self._watch: ResourceWatch | None = None

    @property
    def log_dir(self) -> Path:
        return self.workdir / "pods"

    def pids(self) -> dict[tuple[str, str], list[int]]:
        """The processes of each running Pod, by (namespace, name)."""
        return {(w.namespace, w.name): w.pids for w in self.workers.values() if w.pids}

    async def start(self) -> Self:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._kube = kube = await Kube.connect(
            kubeconfig=self.kubeconfig, field_manager=FIELD_MANAGER
        )
        self._session = aiohttp.ClientSession()
        try:
            await node.register(kube, self.node_name, self.host_ip)
            await node.renew_lease(kube, self.node_name)
            self._watch = ResourceWatch(kube, POD, self._wake.set)
            self._background = [
                asyncio.create_task(self._watch.run()),
                asyncio.create_task(self._keep_lease()),
                asyncio.create_task(self._reconcile_forever()),
            ]
            await asyncio.wait_for(self._watch.synced.wait(), timeout=30)
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        for task in list(self._background):  # a finishing termination removes itself
            await cancel_and_wait(task)
        self._background = []
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        self.workers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._kube is not None:
            await self._kube.close()
            self._kube = None

    async def _keep_lease(self) -> None:
        assert self._kube is not None
        renewals = 0
        while True:
            await asyncio.sleep(self.lease_seconds)
            renewals += 1
            try:
                await node.renew_lease(self._kube, self.node_name)
                if renewals % HEARTBEATS_PER_STATUS == 0:
                    await node.heartbeat(self._kube, self.node_name, self.host_ip)
            except KubeError as exc:
                log.warning("node lease renewal failed", node=self.node_name, error=str(exc))

    async def _reconcile_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self.reconcile()

    def mine(self) -> dict[str, JsonObj]:
        """The Pods bound to this node, by uid, as the cache has them."""
        assert self._watch is not None
        return {
            pod["metadata"]["uid"]: pod
            for pod in self._watch.store.values()
            if pod.get("spec", {}).get("nodeName") == self.node_name
        }

    def reconcile(self) -> None:
        """Start a worker for each new Pod, stop those whose Pod is gone, and finish
        terminating Pods (stop, then force-delete)."""
        pods = self.mine()
        for uid, pod in pods.items():
            if pod["metadata"].get("deletionTimestamp"):
                if uid not in self._deleting:
                    self._deleting.add(uid)
                    self._background.append(asyncio.create_task(self._terminate(pod)))
            elif uid not in self._tasks and pod.get("status", {}).get("phase") not in (
                "Succeeded",
                "Failed",
            ):
                self._run(pod)
        for uid in set(self._tasks) - set(pods):
            self._tasks[uid].cancel()  # deleted behind our back: the worker stops its processes
            self._tasks.pop(uid)
            self.workers.pop(uid, None)

    def _run(self, pod: JsonObj) -> None:
        assert self._kube is not None and self._session is not None
        worker = PodWorker(
            pod,
            kube=self._kube,
            images=self.images,
            addresses=self.addresses,
            host_ip=self.host_ip,
            log_dir=self.log_dir,
            session=self._session,
        )
        uid = pod["metadata"]["uid"]
        self.workers[uid] = worker
        self._tasks[uid] = asyncio.create_task(worker.run())

    async def _terminate(self, pod: JsonObj) -> None:
        meta = pod["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        running = self._tasks.get(uid)
        if running is not None and not running.done():  # its preStop sleep first, then SIGTERM
            await asyncio.sleep(pre_stop_sleep(pod["spec"]))
        await cancel_and_wait(self._tasks.pop(uid, None))
        self.workers.pop(uid, None)
        for attempt in range(5):
            try:
                await asyncio.to_thread(force_delete, self.kubeconfig, namespace, name)
                break
            except RuntimeError as exc:
                log.warning("force delete failed", pod=f"{namespace}/{name}", error=str(exc))
                await asyncio.sleep(0.5 * 2**attempt)
        with contextlib.suppress(ValueError):
            self._background.remove(asyncio.current_task())  # type: ignore[arg-type]


def force_delete(kubeconfig: Path, namespace: str, name: str) -> None:
    """Delete a terminating Pod at once (grace period 0), as the kubelet does once its
    containers are gone. Through kubectl: `canary.kube.Kube.delete` sends no delete options."""
    ExistingCluster(kubeconfig).kubectl(
        "delete",
        "pod",
        name,
        "-n",
        namespace,
        "--grace-period=0",
        "--force",
        "--ignore-not-found",
        "--wait=false",
    )
