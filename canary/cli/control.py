"""`canary promote|abort|pause|resume|retry NAME`: manual control through the Canary's spec
contract — a merge patch of `spec.paused` or a new nonce in `spec.requests` — so RBAC and the
audit log apply as to any edit. The operator acts; this only asks (and says what to expect).

The patches and the advice come from `contract`; this module only sends and reports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from canary.api.control import RequestKind
from canary.cli.contract import WHAT, advice, nonce, pause_patch, request_patch
from canary.cli.exitcodes import CliFailure, ExitCode
from canary.cli.kubeconfig import Connection, ContextOpt, KubeconfigOpt, NamespaceOpt
from canary.cli.runner import run
from canary.cli.snapshot import Snapshot, snapshot
from canary.kube.errors import NotFound
from canary.kube.resources import CANARY

NameArg = Annotated[str, typer.Argument(help="The Canary.")]


async def _patch(conn: Connection, name: str, body: dict[str, Any]) -> Snapshot:
    ns = conn.default_namespace()
    async with conn.open() as kube:
        try:
            patched = await kube.patch(CANARY, name, body, namespace=ns, patch_type="merge")
        except NotFound as exc:
            raise CliFailure(ExitCode.NOT_FOUND, f"canary {ns}/{name} not found") from exc
    return snapshot(patched)


def _request(conn: Connection, name: str, kind: RequestKind) -> None:
    async def body() -> ExitCode:
        value = nonce(datetime.now(UTC))
        snap = await _patch(conn, name, request_patch(kind, value))
        typer.echo(
            f"canary {snap.key}: requested {kind} ({WHAT[kind]}) as spec.requests.{kind}={value}."
        )
        typer.echo(
            "The operator acts on it once and records it in "
            f"status.handledRequests.{kind}; follow with `canary watch {name}`."
        )
        note = advice(kind, snap)
        if note:
            typer.secho(f"note: {note}", err=True, fg=typer.colors.YELLOW)
        return ExitCode.OK

    run(body)


def _pause(conn: Connection, name: str, paused: bool) -> None:
    async def body() -> ExitCode:
        snap = await _patch(conn, name, pause_patch(paused))
        if paused:
            typer.echo(
                f"canary {snap.key}: paused (spec.paused=true). The operator changes "
                "nothing until resumed; only an abort acts. Paused is not finished."
            )
        else:
            typer.echo(
                f"canary {snap.key}: resumed (spec.paused=false); the rollout goes on "
                "where it stood."
            )
        return ExitCode.OK

    run(body)


def promote(
    name: NameArg,
    full: Annotated[bool, typer.Option("--full", help="Skip every remaining step.")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Move to the next step now (ends a pause), or with --full promote at once."""
    kind = RequestKind.PROMOTE_FULL if full else RequestKind.PROMOTE
    _request(Connection(kubeconfig, context, namespace), name, kind)


def abort(
    name: NameArg,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Roll back now: 100 % to the stable backend (reason Aborted)."""
    _request(Connection(kubeconfig, context, namespace), name, RequestKind.ABORT)


def retry(
    name: NameArg,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Start a rolled-back rollout again from the first step, same revision."""
    _request(Connection(kubeconfig, context, namespace), name, RequestKind.RETRY)


def pause(
    name: NameArg,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Hold the rollout: the operator changes nothing until `resume` (abort still acts)."""
    _pause(Connection(kubeconfig, context, namespace), name, True)


def resume(
    name: NameArg,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Let a paused rollout go on where it stood."""
    _pause(Connection(kubeconfig, context, namespace), name, False)
