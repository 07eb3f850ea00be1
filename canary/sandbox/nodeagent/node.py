"""The sandbox Node: its object, its status (written once, Ready=True) and its Lease in
`kube-node-lease`, which the agent renews so the node lifecycle controller keeps it Ready."""

from __future__ import annotations

import contextlib
import datetime

from canary.kube.client import Kube
from canary.kube.errors import Conflict, NotFound
from canary.kube.resources import JsonObj
from canary.sandbox.controlplane import versions
from canary.sandbox.nodeagent.kinds import LEASE, NODE, NODE_LEASE_NAMESPACE
from canary.sandbox.nodeagent.status import rfc3339

LEASE_DURATION_SECONDS = 40  # the kubelet's default
CAPACITY: JsonObj = {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
SANDBOX_LABEL = "sandbox.canary-operator.io/node-agent"


def micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_manifest(name: str) -> JsonObj:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        SANDBOX_LABEL: "true",
    }
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def node_status(host_ip: str, name: str, now: datetime.datetime) -> JsonObj:
    """Capacity, the address and the conditions of a healthy node."""
    stamp = rfc3339(now)

    def condition(kind: str, status: str, reason: str, message: str) -> JsonObj:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }

    return {
        "capacity": CAPACITY,
        "allocatable": CAPACITY,
        "addresses": [
            {"type": "InternalIP", "address": host_ip},
            {"type": "Hostname", "address": name},
        ],
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "enough memory"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "enough PIDs"),
            condition("Ready", "True", "KubeletReady", "the sandbox node agent is running"),
        ],
        "nodeInfo": {
            "machineID": name,
            "systemUUID": name,
            "bootID": name,
            "kernelVersion": "",
            "osImage": "canary sandbox",
            "containerRuntimeVersion": "sandbox://processes",
            "kubeletVersion": f"v{versions.KUBERNETES_VERSION.lstrip('v')}",
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def lease_manifest(name: str, now: datetime.datetime) -> JsonObj:
    return {
        "apiVersion": LEASE.api_version,
        "kind": "Lease",
        "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": micro_time(now),
        },
    }


async def register(kube: Kube, name: str, host_ip: str) -> None:
    """Create the Node (or take over one of that name) and write its status."""
    with contextlib.suppress(Conflict):
        await kube.create(NODE, node_manifest(name))
    await heartbeat(kube, name, host_ip)


async def heartbeat(kube: Kube, name: str, host_ip: str) -> None:
    """Write the Node's status again, with fresh heartbeat times."""
    now = datetime.datetime.now(datetime.UTC)
    status = node_status(host_ip, name, now)
    await kube.patch(NODE, name, {"status": status}, subresource="status")


async def renew_lease(kube: Kube, name: str) -> None:
    """Renew the node's Lease, creating it on first use."""
    now = datetime.datetime.now(datetime.UTC)
    body = {"spec": {"holderIdentity": name, "renewTime": micro_time(now)}}
    try:
        await kube.patch(LEASE, name, body, namespace=NODE_LEASE_NAMESPACE)
    except NotFound:
        await kube.create(LEASE, lease_manifest(name, now), NODE_LEASE_NAMESPACE)
