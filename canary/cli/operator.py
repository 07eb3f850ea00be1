"""`canary operator`: run the controller in the foreground until SIGTERM or Ctrl-C.

Turns flags and `CANARY_*` environment variables into `OperatorSettings`; the loop itself is
`canary.controller.runtime`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from canary.controller.runtime import run_operator
from canary.controller.settings import OperatorSettings
from canary.telemetry import logging as canary_logging


def operator(
    kubeconfig: Path | None = typer.Option(None, envvar="KUBECONFIG", help="Kubeconfig file."),
    context: str | None = typer.Option(None, help="Kubeconfig context."),
    namespace: list[str] = typer.Option(
        [],
        "--namespace",
        "-n",
        envvar="CANARY_NAMESPACES",
        help="Watch only these namespaces (repeatable); default: all namespaces.",
    ),
    selector: str | None = typer.Option(
        None,
        envvar="CANARY_LABEL_SELECTOR",
        help="Only Canaries matching this label selector (shard Canaries between operators).",
    ),
    workers: int = typer.Option(4, envvar="CANARY_WORKERS", help="Concurrent reconciles."),
    prometheus: str = typer.Option(
        "http://127.0.0.1:9090",
        envvar="CANARY_PROMETHEUS_ADDRESS",
        help="Default Prometheus for Canaries that don't name one.",
    ),
    log_format: str = typer.Option("json", envvar="CANARY_LOG_FORMAT", help="json or console."),
    log_level: str = typer.Option("info", envvar="CANARY_LOG_LEVEL"),
    resync: float = typer.Option(
        300.0,
        envvar="CANARY_RESYNC_SECONDS",
        help="Look at every Canary at least this often (seconds).",
    ),
) -> None:
    """Run the canary operator: reconcile Canaries until stopped."""
    canary_logging.configure(json=log_format == "json", level=log_level)
    settings = OperatorSettings(
        prometheus_address=prometheus,
        workers=workers,
        namespaces=tuple(namespace),
        label_selector=selector,
        resync_seconds=resync,
    )
    asyncio.run(run_operator(settings, kubeconfig=kubeconfig, context=context))
