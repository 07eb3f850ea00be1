"""Run one command's async body and end the process with its documented exit code.

The only place that turns failures into exit codes: `CliFailure` carries its own, API errors
map to NOT_FOUND or ERROR. Commands never call `sys.exit` themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn

import typer

from canary.cli.exitcodes import CliFailure, ExitCode
from canary.kube.errors import Forbidden, KubeError, NotFound

INTERRUPTED = 130  # the shell's code for Ctrl-C


def fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)


def run(body: Callable[[], Awaitable[ExitCode]]) -> NoReturn:
    """`asyncio.run(body())`, then exit with its code (or the code of its failure)."""
    try:
        code = asyncio.run(_guarded(body))
    except KeyboardInterrupt:
        raise typer.Exit(INTERRUPTED) from None
    raise typer.Exit(int(code))


async def _guarded(body: Callable[[], Awaitable[ExitCode]]) -> ExitCode:
    try:
        return await body()
    except CliFailure as failure:
        fail(failure.message)
        return failure.code
    except NotFound as exc:
        fail(f"not found: {exc}")
        return ExitCode.NOT_FOUND
    except Forbidden as exc:
        fail(f"the API server refused the request (check your RBAC permissions): {exc}")
        return ExitCode.ERROR
    except KubeError as exc:
        fail(f"API error: {exc}")
        return ExitCode.ERROR
