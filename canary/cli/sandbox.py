"""`canary sandbox ...`: bring up the local control plane for a person to use with kubectl.

Starts real processes on loopback only; everything stops on exit or Ctrl-C. `canary.cli.app`
imports this module only when `canary sandbox` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from canary.sandbox.controlplane import build

if TYPE_CHECKING:
    from canary.sandbox.controlplane.launcher import ControlPlane

# Its help text is `canary.cli.app.COMMANDS["sandbox"]`, shown without importing this.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

REPO_CRDS = Path(__file__).resolve().parents[2] / "crds"


@app.command()
def build_binaries() -> None:
    """Build (or find in the cache) etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler, Contour and Prometheus; print their paths."""
    for path in build.all_binaries():
        typer.echo(path)


@app.command()
def up(
    workdir: Path | None = typer.Option(None, help="Keep state and logs here (default: temp)."),
) -> None:
    """Start a cluster that runs Pods: the control plane with the Gateway API and Canary CRDs,
    the real controller-manager and scheduler, and the node agent; stop on Ctrl-C."""
    # Imported here: they need the `sandbox` extra, which the operator image does not install.
    from canary.sandbox import netns
    from canary.sandbox.cluster import prepare
    from canary.sandbox.controlplane.launcher import ControlPlane

    prepare()  # builds what is missing, then enters the sandbox's own network namespace
    crd_dirs = [REPO_CRDS] if any(REPO_CRDS.glob("*.yaml")) else []
    with ControlPlane(workdir=workdir, extra_crd_dirs=crd_dirs) as plane:
        inside = netns.enter_command(os.getpid())
        typer.echo(f"control plane ready in {plane.ready_seconds:.1f}s at {plane.server}")
        typer.echo("It lives in the sandbox's own network namespace; from another shell:")
        typer.echo(f"  {inside} env KUBECONFIG={plane.kubeconfig} bash")
        typer.echo("  kubectl get nodes   # the node agent's Node; Pods of canary-sandbox/demoapp")
        typer.echo("Press Ctrl-C to stop.")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run_pods(plane, plane.kubeconfig.parent / "pods"))


async def _run_pods(plane: ControlPlane, workdir: Path) -> None:
    from canary.sandbox.cluster import pods_running

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with pods_running(plane, workdir):
        await stop.wait()
