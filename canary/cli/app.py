"""Entry point of the `canary` (and `kubectl-canary`) command.

Only wires sub-commands together; each command lives in its own module.
"""

from __future__ import annotations

import typer

from canary.cli import operator, sandbox

app = typer.Typer(
    name="canary",
    help="Progressive delivery over the Gateway API: canary rollouts gated on Prometheus.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox.app, name="sandbox")
app.command("operator")(operator.operator)


def main() -> None:
    app()
