"""Real Pods in the sandbox: the real kube-controller-manager and kube-scheduler, and the node
agent running each Pod as a local process on its own 10.244.x.y address (`workloads`)."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import aiohttp
import pytest
from harness.procs import wait_dead
from harness.waiting import eventually
from harness.workloads import (
    DEMO_PORT,
    Workloads,
    demo_deployment_manifest,
    demo_pod_manifest,
    demo_service_manifest,
)

from canary.kube.client import Kube
from canary.kube.resources import DEPLOYMENT, ENDPOINTSLICE, SERVICE, JsonObj
from canary.sandbox import netns
from canary.sandbox.nodeagent.kinds import LEASE, NODE, NODE_LEASE_NAMESPACE, POD

pytestmark = pytest.mark.integration

ROLLOUT_SECONDS = 90


def is_ready(pod: JsonObj) -> bool:
    status = pod.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    return status.get("phase") == "Running" and conditions.get("Ready") == "True"


async def app_pods(kube: Kube, namespace: str, app: str) -> list[JsonObj]:
    pods, _ = await kube.list(POD, namespace, label_selector=f"app={app}")
    return pods


async def version_at(ip: str) -> str:
    """The version the demo app at `ip` names (a request sent from inside the namespace)."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://{ip}:{DEMO_PORT}/hello") as response,
    ):
        assert response.status == 200
        body = await response.json()
        return str(body["version"])


async def rolled_out(kube: Kube, namespace: str, name: str, replicas: int) -> bool:
    deployment = await kube.get(DEPLOYMENT, name, namespace)
    status = deployment.get("status", {})
    return bool(
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
    )


def processes_in(workloads: Workloads, namespace: str) -> list[int]:
    """The pids of the container processes the node agent runs for the Pods of `namespace`."""
    return [
        pid for key, pids in workloads.agent.pids().items() if key[0] == namespace for pid in pids
    ]


async def deploy(kube: Kube, namespace: str, name: str, image: str, replicas: int) -> None:
    await kube.create(
        DEPLOYMENT, demo_deployment_manifest(name, image=image, replicas=replicas), namespace
    )
    await eventually(
        lambda: rolled_out(kube, namespace, name, replicas),
        within=ROLLOUT_SECONDS,
        what=f"{name} rolled out",
    )


async def test_the_node_is_ready_and_its_lease_is_renewed(kube: Kube, workloads: Workloads) -> None:
    node = await kube.get(NODE, workloads.agent.node_name)
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    assert int(node["status"]["allocatable"]["pods"]) > 0
    first = await kube.get(LEASE, workloads.agent.node_name, NODE_LEASE_NAMESPACE)

    async def renewed() -> bool:
        lease = await kube.get(LEASE, workloads.agent.node_name, NODE_LEASE_NAMESPACE)
        return bool(lease["spec"]["renewTime"] > first["spec"]["renewTime"])

    await eventually(renewed, within=30, what="a lease renewal")


async def test_a_deployment_runs_ready_pods_that_the_endpointslice_lists_and_that_answer(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    await kube.create(SERVICE, demo_service_manifest("web"), namespace)
    await deploy(kube, namespace, "web", "demoapp:v1", 2)

    pods = await app_pods(kube, namespace, "web")
    assert len(pods) == 2 and all(is_ready(p) for p in pods)
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 2
    assert all(ipaddress.ip_address(ip) in netns.POD_CIDR for ip in ips)
    for pod in pods:
        (container,) = pod["status"]["containerStatuses"]
        assert container["ready"] and container["started"] and "running" in container["state"]
        assert container["restartCount"] == 0 and container["image"] == "demoapp:v1"
        assert container["imageID"]
        log = workloads.agent.log_dir / f"{namespace}_{pod['metadata']['name']}.log"
        assert log.exists()

    async def slice_lists_both() -> bool:
        slices, _ = await kube.list(
            ENDPOINTSLICE, namespace, label_selector="kubernetes.io/service-name=web"
        )
        ready = {
            address
            for s in slices
            for e in s.get("endpoints") or []
            if e.get("conditions", {}).get("ready")
            for address in e["addresses"]
        }
        return ready == ips

    await eventually(slice_lists_both, within=30, what="both pod IPs ready in the EndpointSlice")
    assert [await version_at(ip) for ip in sorted(ips)] == ["v1", "v1"]


async def test_a_new_image_rolls_out_and_the_old_processes_stop(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    await deploy(kube, namespace, "roll", "demoapp:v1", 2)
    old = processes_in(workloads, namespace)
    assert len(old) == 2

    # What `kubectl set image deployment/roll app=canary-sandbox/demoapp:v2` changes.
    image = "/spec/template/spec/containers/0/image"
    patch = [{"op": "replace", "path": image, "value": "canary-sandbox/demoapp:v2"}]
    await kube.patch(DEPLOYMENT, "roll", patch, namespace=namespace, patch_type="json")
    await eventually(
        lambda: rolled_out(kube, namespace, "roll", 2), within=ROLLOUT_SECONDS, what="v2 rolled out"
    )

    async def only_v2() -> list[JsonObj] | None:
        pods = await app_pods(kube, namespace, "roll")
        images = {p["spec"]["containers"][0]["image"] for p in pods}
        done = len(pods) == 2 and images == {"canary-sandbox/demoapp:v2"}
        return pods if done and all(is_ready(p) for p in pods) else None

    pods = await eventually(only_v2, within=ROLLOUT_SECONDS, what="two ready v2 pods, no other")
    assert [await version_at(p["status"]["podIP"]) for p in pods] == ["v2", "v2"]
    assert wait_dead(old) == []


async def test_scaling_to_zero_deletes_the_pods_and_stops_their_processes(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    await deploy(kube, namespace, "scale", "demoapp:v1", 2)
    running = processes_in(workloads, namespace)
    assert len(running) == 2

    await kube.patch(DEPLOYMENT, "scale", {"spec": {"replicas": 0}}, namespace=namespace)

    async def no_pods() -> bool:
        return not await app_pods(kube, namespace, "scale")

    await eventually(no_pods, within=ROLLOUT_SECONDS, what="the pods deleted")
    assert wait_dead(running) == []
    assert not [key for key in workloads.agent.pids() if key[0] == namespace]


async def test_an_unknown_image_gets_a_status_that_says_so(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    await kube.create(POD, demo_pod_manifest("ghost", "registry.example/nosuch:v9"), namespace)

    async def waiting() -> JsonObj | None:
        pod = await kube.get(POD, "ghost", namespace)
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        found: JsonObj | None = statuses[0].get("state", {}).get("waiting")
        return found

    state = await eventually(waiting, within=30, what="a waiting container status")
    assert state["reason"] == "ErrImagePull"
    assert "not in the sandbox image catalog" in state["message"]
    pod = await kube.get(POD, "ghost", namespace)
    assert pod["status"]["phase"] == "Pending"

    await kube.delete(POD, "ghost", namespace)

    async def gone() -> bool:
        return await kube.get_or_none(POD, "ghost", namespace) is None

    await eventually(gone, within=30, what="the terminating pod deleted")


async def test_a_container_that_exits_is_restarted(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    # An error rate above 1 is accepted by the catalog but refused by the app: it exits 1.
    bad = {"DEMO_ERROR_RATE": "2"}
    await kube.create(POD, demo_pod_manifest("crash", "demoapp:v1", env=bad), namespace)

    async def restarted() -> JsonObj | None:
        pod = await kube.get(POD, "crash", namespace)
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        return statuses[0] if statuses[0].get("restartCount", 0) >= 1 else None

    status = await eventually(restarted, within=60, what="a restart")
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert not status["ready"]


async def test_a_container_that_exits_under_restart_policy_never_fails_the_pod(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    bad = {"DEMO_ERROR_RATE": "2"}
    manifest = demo_pod_manifest("once", "demoapp:v1", restart_policy="Never", env=bad)
    await kube.create(POD, manifest, namespace)

    async def failed() -> JsonObj | None:
        pod = await kube.get(POD, "once", namespace)
        return pod if pod.get("status", {}).get("phase") == "Failed" else None

    pod = await eventually(failed, within=60, what="phase Failed")
    (status,) = pod["status"]["containerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 1
    assert status["restartCount"] == 0


async def test_a_deleted_pod_keeps_serving_through_its_pre_stop_sleep_then_stops(
    kube: Kube, namespace: str, workloads: Workloads
) -> None:
    """As the kubelet does: a terminating Pod's `preStop` sleep runs before its containers get
    SIGTERM, so the proxy can drop the endpoint before the process stops answering."""
    await kube.create(POD, demo_pod_manifest("drain", "demoapp:v1", pre_stop_sleep=3), namespace)

    async def ready() -> JsonObj | None:
        pod = await kube.get(POD, "drain", namespace)
        return pod if is_ready(pod) else None

    pod = await eventually(ready, within=ROLLOUT_SECONDS, what="the pod ready")
    ip = pod["status"]["podIP"]
    pids = workloads.agent.pids()[(namespace, "drain")]

    await kube.delete(POD, "drain", namespace)
    deleted = time.monotonic()
    await asyncio.sleep(1.5)
    assert await version_at(ip) == "v1"  # halfway through its 3 s preStop sleep: still serving

    async def gone() -> bool:
        return await kube.get_or_none(POD, "drain", namespace) is None

    await eventually(gone, within=30, what="the terminating pod deleted")
    assert time.monotonic() - deleted >= 3
    assert wait_dead(pids) == []
