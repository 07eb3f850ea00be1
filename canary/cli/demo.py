"""`canary demo`: the README's main command. Brings up the whole sandbox on loopback, runs the
two stories (v2 promoted, v3 rolled back) under a live view, and exits 0 only if both ended
as expected.

Only options live here; the demo itself is `canary.sandbox.demo`. `canary.cli.app` imports this
module only when `canary demo` runs (it needs the `sandbox` extra, which the operator image
does not install).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from canary.sandbox.demo.settings import DemoSettings, Speed

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def demo(
    speed: Speed = typer.Option(
        Speed.NORMAL, help="Step interval preset: fast 5s, normal 10s, slow 20s per step."
    ),
    interval: int | None = typer.Option(
        None, min=1, help="Seconds per step (and metric window); overrides --speed."
    ),
    keep: bool = typer.Option(
        False,
        "--keep",
        help="Leave everything running after the stories; print the kubeconfig, the gateway "
        "and Prometheus URLs; stop on Ctrl-C.",
    ),
    workdir: Path | None = typer.Option(
        None, help="Keep state and logs here (default: a temporary directory, removed on success)."
    ),
) -> None:
    # Its help text is `canary.cli.app.COMMANDS["demo"]`, shown without importing this.
    from canary.sandbox.demo.run import run_demo

    settings = DemoSettings.for_speed(speed, interval=interval)
    raise typer.Exit(run_demo(settings, keep=keep, workdir=workdir, console=Console()))
