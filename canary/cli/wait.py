"""`canary wait NAME --for promoted|rolled-back|finished`: block until the rollout of the
current (or the given) revision reaches that state, and exit with a code a pipeline can branch
on (see `canary.cli.exitcodes`).

Follows the Canary through a watch, never by polling; what each state means is `outcome.judge`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from canary.api.duration import format_duration, parse_duration
from canary.cli.conclusion import Conclusion, Target, WaitFor, judge, lock
from canary.cli.exitcodes import CliFailure, ExitCode
from canary.cli.follow import CanaryReader, follow
from canary.cli.kubeconfig import Connection, ContextOpt, KubeconfigOpt, NamespaceOpt
from canary.cli.render import OutputOpt, dump
from canary.cli.runner import run
from canary.cli.snapshot import Snapshot, snapshot

TimeoutOpt = Annotated[
    str, typer.Option("--timeout", help="Give up after this long (e.g. 30s, 15m, 1h), exit 3.")
]
RevisionOpt = Annotated[
    str | None,
    typer.Option(
        "--revision",
        help="Accept a final state only for this revision (spec.revision, or the canary backend "
        "name:port; in workload mode the pod template hash, status.workload.canaryRevision). "
        "Use it in pipelines.",
        show_default=False,
    ),
]
ImageOpt = Annotated[
    str | None,
    typer.Option(
        "--image",
        help="Workload mode: accept a final state only for the rollout whose images "
        "(status.workload.images) contain this one, e.g. the image `kubectl set image` just set.",
        show_default=False,
    ),
]


def timeout_of(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise CliFailure(ExitCode.USAGE, f"--timeout: {exc}") from exc


async def wait_for(
    api: CanaryReader,
    namespace: str,
    name: str,
    *,
    want: WaitFor,
    revision: str | None,
    limit: timedelta,
    on_change: Callable[[Snapshot | None, Conclusion], None],
    image: str | None = None,
) -> tuple[Conclusion, Snapshot | None]:
    """Follow the Canary until a conclusion is final or `limit` passes.

    The generation seen first is the floor for the status: anything older is the previous
    rollout's. In workload mode, the first status about the rollout waited for (`--image`,
    `--revision`) locks the wait to its revision (`conclusion.lock`). `on_change` hears every
    new state (for progress output)."""
    stream = follow(api, namespace, name)
    try:
        first = await anext(stream)  # always look once, even with --timeout 0s
        snap = snapshot(first) if first is not None else None
        target = Target(want, revision, snap.generation if snap else 0, image=image)
        target = lock(snap, target)
        conclusion = judge(snap, target)
        on_change(snap, conclusion)
        try:
            async with asyncio.timeout(limit.total_seconds()):
                while not conclusion.done:
                    obj = await anext(stream)
                    snap = snapshot(obj) if obj is not None else None
                    target = lock(snap, target)
                    conclusion = judge(snap, target)
                    on_change(snap, conclusion)
        except TimeoutError:
            waited = format_duration(limit)
            message = f"timed out after {waited}: {conclusion.message}"
            return Conclusion(ExitCode.TIMEOUT, message), snap
        return conclusion, snap
    finally:
        await stream.aclose()


def result(
    key: str,
    want: WaitFor,
    revision: str | None,
    conclusion: Conclusion,
    snap: Snapshot | None,
    image: str | None = None,
) -> dict[str, object]:
    """The machine-readable outcome printed by `-o json|yaml`."""
    code = conclusion.code if conclusion.code is not None else ExitCode.ERROR
    workload = snap.status.workload if snap else None
    extra: dict[str, object] = {}
    if image is not None or workload is not None:
        extra = {
            "image": image,
            "images": list(workload.images) if workload else [],
            "primaryRevision": workload.primary_revision if workload else None,
        }
    return {
        "canary": key,
        "for": str(want),
        "revision": revision,
        **extra,
        "result": code.name.lower().replace("_", "-"),
        "exitCode": int(code),
        "message": conclusion.message,
        "phase": str(snap.status.phase) if snap else None,
        "statusRevision": snap.status.revision if snap else None,
        "observedGeneration": snap.status.observed_generation if snap else None,
        "generation": snap.generation if snap else None,
    }


def wait(
    name: Annotated[str, typer.Argument(help="The Canary.")],
    for_: Annotated[WaitFor, typer.Option("--for", help="The state to wait for.")],
    timeout: TimeoutOpt = "10m",
    revision: RevisionOpt = None,
    image: ImageOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Wait until the rollout is promoted, rolled back or finished (Paused is not finished).

    In workload mode, `--image` (or `--revision HASH`) waits for the rollout of the pod template
    just applied, never a previous one.

    Exit: 0 reached, 1 rolled back/failed, 2 usage, 3 timed out, 4 not found, 5 API error."""
    conn = Connection(kubeconfig, context, namespace)

    async def body() -> ExitCode:
        limit = timeout_of(timeout)
        ns = conn.default_namespace()
        key = f"{ns}/{name}"
        last: list[str] = []

        def progress(_: Snapshot | None, conclusion: Conclusion) -> None:
            if not conclusion.done and conclusion.message not in last[-1:]:
                last.append(conclusion.message)
                stamp = datetime.now(UTC).strftime("%H:%M:%S")
                typer.echo(f"{stamp} canary {key}: {conclusion.message}", err=True)

        if image is not None and revision is not None:
            raise CliFailure(ExitCode.USAGE, "give --image or --revision, not both")
        async with conn.open() as kube:
            conclusion, snap = await wait_for(
                kube,
                ns,
                name,
                want=for_,
                revision=revision,
                limit=limit,
                on_change=progress,
                image=image,
            )
        if output is not None:
            typer.echo(dump(result(key, for_, revision, conclusion, snap, image), output))
        else:
            typer.echo(f"canary {key}: {conclusion.message}")
        return conclusion.code if conclusion.code is not None else ExitCode.ERROR

    run(body)
