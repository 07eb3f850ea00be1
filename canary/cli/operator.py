"""`canary operator`: run the controller in the foreground until SIGTERM or Ctrl-C.

Turns flags and `CANARY_*` environment variables into `OperatorSettings`; the loop itself is
`canary.controller.runtime`, imported only when this command runs: the other commands (a
kubectl plugin's `get`, `wait`, `check`) never load the controller.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer


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
    token_file: Path | None = typer.Option(
        None,
        envvar="CANARY_TOKEN_FILE",
        help="Authenticate with this bearer token (read once) instead of the kubeconfig's user.",
    ),
    listen_address: str = typer.Option(
        "0.0.0.0", envvar="CANARY_LISTEN_ADDRESS", help="Address of the metrics/health ports."
    ),
    metrics_port: int = typer.Option(
        0, envvar="CANARY_METRICS_PORT", help="Serve Prometheus /metrics here; 0: off."
    ),
    health_port: int = typer.Option(
        0, envvar="CANARY_HEALTH_PORT", help="Serve /healthz and /readyz here; 0: off."
    ),
    leader_elect: bool = typer.Option(
        False,
        "--leader-elect/--no-leader-elect",
        envvar="CANARY_LEADER_ELECT",
        help="Act only while holding the leader Lease (run several replicas with this on).",
    ),
    lease_name: str = typer.Option("canary-operator", envvar="CANARY_LEASE_NAME"),
    lease_namespace: str | None = typer.Option(
        None,
        envvar="CANARY_LEASE_NAMESPACE",
        help="Namespace of the Lease; default: the pod's own namespace, else 'default'.",
    ),
    lease_duration: float = typer.Option(15.0, envvar="CANARY_LEASE_DURATION_SECONDS"),
    renew_deadline: float = typer.Option(10.0, envvar="CANARY_RENEW_DEADLINE_SECONDS"),
    retry_period: float = typer.Option(2.0, envvar="CANARY_RETRY_PERIOD_SECONDS"),
    workloads: bool = typer.Option(
        False,
        "--workloads/--no-workloads",
        envvar="CANARY_WORKLOADS",
        help="Workload mode: watch Deployments and HPAs, and manage the Deployments Canaries"
        " name in spec.workload (needs the RBAC of the chart's workloads.enabled).",
    ),
) -> None:
    """Run the canary operator: reconcile Canaries until stopped."""
    from canary.controller.leader import LeadershipLost
    from canary.controller.runtime import run_operator
    from canary.controller.settings import LeaderElectionSettings, OperatorSettings
    from canary.telemetry import logging as canary_logging

    canary_logging.configure(json=log_format == "json", level=log_level)
    settings = OperatorSettings(
        prometheus_address=prometheus,
        workers=workers,
        namespaces=tuple(namespace),
        label_selector=selector,
        resync_seconds=resync,
        listen_address=listen_address,
        metrics_port=metrics_port,
        health_port=health_port,
        workloads=workloads,
        leader_election=LeaderElectionSettings(
            enabled=leader_elect,
            lease_name=lease_name,
            lease_namespace=lease_namespace or _own_namespace(),
            lease_duration_seconds=lease_duration,
            renew_deadline_seconds=renew_deadline,
            retry_period_seconds=retry_period,
        ),
    )
    token = token_file.read_text().strip() if token_file else None
    try:
        asyncio.run(run_operator(settings, kubeconfig=kubeconfig, context=context, token=token))
    except LeadershipLost:
        raise typer.Exit(1) from None  # like controller-runtime: exit, restart as a standby


def _own_namespace() -> str:
    """`$POD_NAMESPACE` (downward API), else the in-cluster service account's, else default."""
    if found := os.environ.get("POD_NAMESPACE"):
        return found
    service_account = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    if service_account.is_file():
        return service_account.read_text().strip()
    return "default"
