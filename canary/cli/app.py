"""Entry point of the `canary` (and `kubectl-canary`) command.

Only wires sub-commands together; each command lives in its own module.
"""

from __future__ import annotations

import typer

from canary.cli import check, control, demo, get, operator, sandbox, wait, watch

app = typer.Typer(
    name="canary",
    help="Progressive delivery over the Gateway API: canary rollouts gated on Prometheus.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox.app, name="sandbox")
app.command("operator")(operator.operator)
app.command("get")(get.get)
app.command("watch")(watch.watch)
app.command("wait")(wait.wait)
app.command("check")(check.check)
app.command("demo")(demo.demo)
for command in (control.promote, control.abort, control.pause, control.resume, control.retry):
    app.command(command.__name__)(command)


def main() -> None:
    app()
