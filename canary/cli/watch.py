"""`canary watch NAME`: a live view of one rollout that redraws on every change of the Canary
and refreshes events and the observed split every few seconds; it exits when the rollout
reaches a final state, with the exit codes of `wait --for promoted`.

The loop is `liveview.live_view`; this module only parses the flags and connects.
"""

from __future__ import annotations

from typing import Annotated

import typer

from canary.cli.exitcodes import CliFailure, ExitCode
from canary.cli.kubeconfig import Connection, ContextOpt, KubeconfigOpt, NamespaceOpt
from canary.cli.liveview import live_view
from canary.cli.runner import run
from canary.cli.split import DEFAULT_SPLIT_QUERY, SplitSource
from canary.cli.wait import RevisionOpt


def watch(
    name: Annotated[str, typer.Argument(help="The Canary.")],
    revision: RevisionOpt = None,
    timeout: Annotated[str | None, typer.Option(help="Give up after this long, exit 3.")] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            envvar="CANARY_PROMETHEUS_ADDRESS",
            show_default=False,
            help="Prometheus to read the observed traffic split from.",
        ),
    ] = None,
    split_query: Annotated[
        str,
        typer.Option(
            help="PromQL for one backend's request rate; may use {{ namespace }}, {{ service }}, "
            "{{ port }} and {{ interval }} (the step interval, at least 30s)."
        ),
    ] = DEFAULT_SPLIT_QUERY,
    every: Annotated[
        float,
        typer.Option(
            "--refresh",
            min=0.2,
            help="Seconds between refreshes of events and the observed split.",
        ),
    ] = 2.0,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Show a rollout live until it finishes; exit codes as `wait --for promoted`."""
    conn = Connection(kubeconfig, context, namespace)

    async def body() -> ExitCode:
        try:
            source = SplitSource(prometheus, split_query) if prometheus else None
        except ValueError as exc:
            raise CliFailure(ExitCode.USAGE, f"--prometheus: {exc}") from exc
        try:
            async with conn.open() as kube:
                verdict = await live_view(
                    kube,
                    conn.default_namespace(),
                    name,
                    revision=revision,
                    limit=timeout,
                    source=source,
                    every=every,
                )
        finally:
            if source is not None:
                await source.aclose()
        return verdict.code if verdict.code is not None else ExitCode.ERROR

    run(body)
