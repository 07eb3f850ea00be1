"""`canary sandbox ...`: bring up the local control plane for a person to use with kubectl.

Starts real processes on loopback only; everything stops on exit or Ctrl-C. `canary.cli.app`
imports this module only when `canary sandbox` runs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import typer

from canary.sandbox.controlplane import build

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
    """Start the control plane with the Gateway API and Canary CRDs; stop on Ctrl-C."""
    # Imported here: it needs the `sandbox` extra, which the operator image does not install.
    from canary.sandbox.controlplane.launcher import ControlPlane

    crd_dirs = [REPO_CRDS] if any(REPO_CRDS.glob("*.yaml")) else []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ControlPlane(workdir=workdir, extra_crd_dirs=crd_dirs) as plane:
        typer.echo(f"control plane ready in {plane.ready_seconds:.1f}s at {plane.server}")
        typer.echo(f"export KUBECONFIG={plane.kubeconfig}")
        typer.echo("kubectl get crds   # Gateway API and Canary CRDs are installed")
        typer.echo("Press Ctrl-C to stop.")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
