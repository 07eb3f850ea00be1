"""`canary get [NAME]`: Canaries in one namespace (or all, with -A) as kubectl-style columns —
phase, weights, step, revision, last check, age — or as json/yaml; `-o wide` adds the last look
and a verdict count, then every gate's last result (a comparison's effect, confidence sequence,
samples and evidence) under each Canary.

Reads only. Rows are built by the pure `rows()`; the command just fetches and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from canary.cli.evidence import gate_table, slowdowns, verdict_counts
from canary.cli.exitcodes import CliFailure, ExitCode
from canary.cli.kubeconfig import (
    AllNamespacesOpt,
    Connection,
    ContextOpt,
    KubeconfigOpt,
    NamespaceOpt,
)
from canary.cli.render import OutputFormat, age, as_list, clean, columns, dump
from canary.cli.runner import run
from canary.cli.snapshot import Snapshot, snapshot
from canary.cli.workload import workload_line
from canary.kube.resources import CANARY

HEADERS = ("name", "phase", "stable/canary", "step", "revision", "last check", "age")
WIDE = ("last look", "gates p/f/i")
WORKLOAD = ("primary", "images")  # -o wide, when a Canary listed is in workload mode


class GetOutput(StrEnum):
    JSON = "json"
    YAML = "yaml"
    WIDE = "wide"


GetOutputOpt = Annotated[
    GetOutput | None,
    typer.Option(
        "--output",
        "-o",
        help="Print json or yaml instead of text; wide: also every gate's last result, with "
        "each comparison's evidence.",
        show_default=False,
    ),
]


def revision_cell(snap: Snapshot) -> str:
    """The revision in the status; `old -> new` while the spec (in workload mode: the
    Deployment's pod template) asks for one not started yet."""
    current = snap.status.revision or "-"
    w = snap.status.workload
    wanted = w.canary_revision if w is not None and w.canary_revision else snap.target_revision
    return current if wanted in (None, current) else f"{current} -> {wanted}"


def row(snap: Snapshot, now: datetime) -> list[str]:
    s = snap.status
    return [
        snap.name,
        str(s.phase),
        f"{s.stable_weight}/{s.canary_weight}",
        f"{s.current_step}/{s.total_steps}" if s.total_steps else "-",
        revision_cell(snap),
        age(s.last_check_time, now),
        age(snap.created, now),
    ]


def wide_cells(snap: Snapshot, now: datetime) -> list[str]:
    s = snap.status
    return [age(s.looked_at, now), verdict_counts(s.metrics)]


def workload_cells(snap: Snapshot) -> list[str]:
    """The primary's pod template revision and the canary's images (`-` for a Canary that names
    two Services)."""
    w = snap.status.workload
    primary = (w.primary_revision or "-") if w is not None else "-"
    images = ",".join(w.images) if w is not None and w.images else "-"
    return [primary, images]


def _workload_mode(snap: Snapshot) -> bool:
    return snap.status.workload is not None or bool((snap.raw.get("spec") or {}).get("workload"))


def gates(snap: Snapshot, now: datetime) -> str:
    """Every gate's last result (and the traffic guard's) under a title line."""
    s = snap.status
    results = [*s.metrics, *([s.request_count] if s.request_count else [])]
    workload = workload_line(snap, now)
    title = f"Canary {snap.key}" + (f" ({workload})" if workload else "")
    if not results:
        return f"{title}: no gate result yet"
    table = gate_table(results, now, slowdown=slowdowns(snap.spec))
    return f"{title}: gates at the last check or look\n{table}"


def rows(
    snaps: Sequence[Snapshot], now: datetime, *, all_namespaces: bool, wide: bool = False
) -> str:
    ordered = sorted(snaps, key=lambda s: (s.namespace, s.name))
    workloads = wide and any(_workload_mode(s) for s in ordered)
    headers = (*HEADERS, *(WIDE if wide else ()), *(WORKLOAD if workloads else ()))

    def cells(snap: Snapshot) -> list[str]:
        extra = [*wide_cells(snap, now), *(workload_cells(snap) if workloads else [])]
        return [*row(snap, now), *(extra if wide else [])]

    if all_namespaces:
        text = columns(("namespace", *headers), [[s.namespace, *cells(s)] for s in ordered])
    else:
        text = columns(headers, [cells(s) for s in ordered])
    if not wide:
        return text
    return "\n\n".join([text, *(gates(s, now) for s in ordered)])


def get(
    name: Annotated[str | None, typer.Argument(help="One Canary; default: all.")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    output: GetOutputOpt = None,
) -> None:
    """List Canaries: phase, stable/canary weights, step, revision, last check and age.

    `-o wide` adds every gate's last result, with each comparison's evidence."""
    conn = Connection(kubeconfig, context, namespace)

    async def body() -> ExitCode:
        if name and all_namespaces:
            raise CliFailure(ExitCode.USAGE, "a Canary cannot be named across all namespaces")
        ns = None if all_namespaces else conn.default_namespace()
        async with conn.open() as kube:
            if name:
                obj = await kube.get_or_none(CANARY, name, ns)
                if obj is None:
                    raise CliFailure(ExitCode.NOT_FOUND, f"canary {ns}/{name} not found")
                items = [obj]
            else:
                items, _ = await kube.list(CANARY, ns)
        if output is not None and output is not GetOutput.WIDE:
            data = clean(items[0]) if name else as_list([clean(i) for i in items])
            typer.echo(dump(data, OutputFormat(output.value)))
        elif not items:
            where = "any namespace" if ns is None else f"namespace {ns}"
            typer.echo(f"No canaries found in {where}.", err=True)
        else:
            snaps = [snapshot(i) for i in items]
            wide = output is GetOutput.WIDE
            typer.echo(rows(snaps, datetime.now(UTC), all_namespaces=all_namespaces, wide=wide))
        return ExitCode.OK

    run(body)
