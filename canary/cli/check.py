"""`canary check NAME` / `canary check -f canary.yaml`: a preflight that changes nothing and
reports everything that would stop the rollout — the route and its Gateway, the Services, the
ReferenceGrants, the metric queries and Prometheus — each with a hint; exit 1 if anything blocks.

Reads fresh from the API with the router's own diagnosis and the operator's own sampler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canary.cli.exitcodes import CliFailure, ExitCode
from canary.cli.findings import Finding, Severity, blocking
from canary.cli.kubeconfig import Connection, ContextOpt, KubeconfigOpt, NamespaceOpt
from canary.cli.manifest import Manifest, load_manifests
from canary.cli.preflight import check_canary, in_cluster, read_workload
from canary.cli.render import OutputFormat, OutputOpt, dump
from canary.cli.report import report
from canary.cli.runner import run
from canary.cli.workload import json_patch, not_ready_to_patch, patch_command, route_migration
from canary.kube.client import Kube
from canary.kube.resources import CANARY


def check(
    name: Annotated[str | None, typer.Argument(help="A Canary in the cluster.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--filename",
            "-f",
            help="Check the Canaries in this YAML file instead (before applying them).",
            show_default=False,
        ),
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            envvar="CANARY_PROMETHEUS_ADDRESS",
            show_default=False,
            help="The operator's default Prometheus, for Canaries that don't name one.",
        ),
    ] = None,
    print_patch: Annotated[
        bool,
        typer.Option(
            "--print-patch",
            help="Workload mode: print only the `kubectl patch` that makes the route's rule "
            "that sends to the Deployment's Service send to <name>-primary and <name>-canary "
            "(with -o json|yaml: the JSON patch). Exit 1 if no rule to patch was found, or "
            "while the operator has not created a ready primary and its Services yet.",
        ),
    ] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Preflight a Canary: report everything that would stop its rollout, with hints.

    Changes nothing. Exit 0: nothing blocks; 1: something blocks; 4: no such Canary."""
    conn = Connection(kubeconfig, context, namespace)

    async def body() -> ExitCode:
        if (name is None) == (file is None):
            raise CliFailure(ExitCode.USAGE, "name a Canary, or give -f FILE (not both)")
        ns = conn.default_namespace()
        uid = ""
        results: list[tuple[Manifest, list[Finding]]] = []
        async with conn.open() as kube:
            if file is not None:
                try:
                    text = file.read_text()
                except OSError as exc:
                    raise CliFailure(ExitCode.USAGE, f"-f {file}: {exc}") from exc
                manifests = load_manifests(text, str(file), ns)
            else:
                obj = await kube.get_or_none(CANARY, name or "", ns)
                if obj is None:
                    raise CliFailure(ExitCode.NOT_FOUND, f"canary {ns}/{name} not found")
                manifests = [in_cluster(obj)]
                uid = str(obj.get("metadata", {}).get("uid", ""))
            if print_patch:
                return await _print_patches(kube, manifests, output)
            for manifest in manifests:
                found = list(manifest.findings)
                if manifest.canary is not None:
                    found += await check_canary(
                        kube, manifest.canary, prometheus=prometheus, uid=uid
                    )
                results.append((manifest, found))
        blocked = any(blocking(found) for _, found in results)
        if output is not None:
            typer.echo(dump(report(results, blocked), output))
        else:
            for manifest, found in results:
                _print(manifest, found)
        return ExitCode.FAILED if blocked else ExitCode.OK

    run(body)


MARK = {
    Severity.BLOCKER: ("BLOCKER", "red"),
    Severity.WARNING: ("WARNING", "yellow"),
    Severity.OK: ("ok", "green"),
}


def _print(manifest: Manifest, found: list[Finding]) -> None:
    typer.secho(f"Canary {manifest.title} ({manifest.source})", bold=True)
    for finding in found:
        word, color = MARK[finding.severity]
        typer.secho(f"  {word:<8}", fg=color, nl=False)
        typer.echo(f"{finding.subject}: {finding.message}")
        if finding.hint and finding.severity is not Severity.OK:
            typer.echo(f"           hint: {finding.hint}")
    blockers = sum(f.severity is Severity.BLOCKER for f in found)
    warnings = sum(f.severity is Severity.WARNING for f in found)
    verdict = "blocks the rollout" if blockers else "nothing blocks the rollout"
    typer.echo(f"  {blockers} blocker(s), {warnings} warning(s): {verdict}")


async def _print_patches(
    kube: Kube, manifests: list[Manifest], output: OutputFormat | None
) -> ExitCode:
    """`--print-patch`: the route patch of every workload-mode Canary, to stdout; why there is
    none to stderr (exit 1)."""
    code = ExitCode.OK
    patches: list[dict[str, object]] = []
    for manifest in manifests:
        canary = manifest.canary
        if canary is None:
            typer.echo(f"canary {manifest.title}: not valid, run `canary check` first", err=True)
            code = ExitCode.FAILED
            continue
        world = await read_workload(kube, canary)
        if world is None:
            typer.echo(
                f"canary {manifest.title}: not in workload mode (no spec.workload): the route "
                "names its Services itself",
                err=True,
            )
            code = ExitCode.FAILED
            continue
        rules = route_migration(world)
        if not rules:
            typer.echo(
                f"canary {manifest.title}: no rule of {world.route_kind} {world.route_name} "
                f"sends to a Service of Deployment {world.workload.name}: nothing to patch "
                f"(run `canary check` to see why)",
                err=True,
            )
            code = ExitCode.FAILED
            continue
        early = not_ready_to_patch(world)
        if early is not None:
            typer.echo(f"canary {manifest.title}: not yet: {early}", err=True)
            code = ExitCode.FAILED
            continue
        ops = json_patch(rules)
        if output is not None:
            patches.append(
                {
                    "canary": manifest.title,
                    "route": f"{world.namespace}/{world.route_name}",
                    "kind": world.route_kind,
                    "patch": ops,
                }
            )
        else:
            typer.echo(patch_command(world.namespace, world.route_kind, world.route_name, ops))
    if output is not None:
        typer.echo(dump(patches, output))
    return code
