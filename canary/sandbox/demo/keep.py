"""`canary demo --keep`: leave the whole sandbox running after the stories, say where everything
is and how to look at it, and return on Ctrl-C (or SIGTERM) so the caller stops it all.

It starts nothing and changes nothing; the load keeps flowing so Prometheus has fresh data.
"""

from __future__ import annotations

import asyncio
import os
import signal

from rich.console import Console

from canary.sandbox import netns
from canary.sandbox.controlplane.launcher import kubectl_path
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.world import DemoWorld


def addresses(world: DemoWorld) -> list[str]:
    s = world.settings
    inside = netns.enter_command(os.getpid())
    kubectl = f"{inside} {kubectl_path()} --kubeconfig {world.kubeconfig}"
    envoy_rq = f'envoy_cluster_upstream_rq_xx{{envoy_cluster_name=~"{s.namespace}_.*"}}'
    return [
        "Everything is still running. Press Ctrl-C to stop it all.",
        "It lives in the sandbox's own network namespace: run commands from another shell",
        f"inside it with `{inside} COMMAND` (e.g. `{inside} bash`).",
        f"  kubeconfig:  {world.kubeconfig}",
        f"  gateway:     {world.url}/   (try: curl -si {world.url}/ | grep x-demo-version)",
        f"  Prometheus:  {world.prometheus.url}   (try the query: {envoy_rq})",
        f"  operator log: {world.operator_log}",
        f"  {kubectl} -n {s.namespace} get canary {m.CANARY_NAME} -o yaml",
        f"  {kubectl} -n {s.namespace} get httproute {m.ROUTE_NAME} -o yaml",
        f"  {kubectl} -n {s.namespace} events --for canary/{m.CANARY_NAME}",
        *(
            [
                f"  {kubectl} -n {s.namespace} get deployments,replicasets,pods",
                f"  {kubectl} -n {s.namespace} set image deployment/{m.WORKLOAD} "
                f"{m.CONTAINER}={m.image('v4')}   (a new release: any tag but v3 is healthy)",
            ]
            if s.workload
            else []
        ),
    ]


async def keep_running(world: DemoWorld, console: Console) -> None:
    for line in addresses(world):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    console.print("Stopping everything the demo started ...")
