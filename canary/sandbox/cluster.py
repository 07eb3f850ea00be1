"""What makes the sandbox's bare API server a cluster that runs Pods: the real
kube-controller-manager and kube-scheduler (Deployments, ReplicaSets, scheduling,
EndpointSlices, namespace deletion) and the node agent, the one stand-in (for the kubelet).

`prepare()` is what every entry point that starts a sandbox does first: build (or find in the
cache) every binary while the network is still there, then move into the sandbox's own network
namespace, where the Pods get their addresses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from canary.sandbox import netns
from canary.sandbox.controlplane import build
from canary.sandbox.controlplane.controllers import Controllers
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.nodeagent import NodeAgent


def prepare() -> None:
    """Build what is missing (this needs the network), then enter the sandbox's namespace."""
    build.all_binaries()
    netns.enter()


@asynccontextmanager
async def pods_running(plane: ControlPlane, workdir: Path) -> AsyncIterator[NodeAgent]:
    """The controllers and the node agent on `plane`, until the block exits."""
    async with (
        Controllers(plane, workdir / "controllers"),
        NodeAgent(plane.kubeconfig, workdir=workdir / "node") as agent,
    ):
        yield agent
