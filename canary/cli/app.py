"""Entry point of the `canary` (and `kubectl-canary`) command.

Only wires sub-commands together; each command lives in its own module.

`canary demo` and `canary sandbox` drive the local sandbox (`canary.sandbox`: a control plane,
Envoy, Prometheus), which the operator image does not need. Their modules are imported only
when one of them runs or shows its own help, so `canary --help`, `canary operator` and
`canary get` never load the sandbox.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from canary.cli import check, control, get, operator, wait, watch

# name -> (module with a Typer `app`, one-line help shown by `canary --help`)
LAZY_COMMANDS = {
    "sandbox": (
        "canary.cli.sandbox",
        "A local Kubernetes control plane (etcd + kube-apiserver) on loopback.",
    ),
    "demo": (
        "canary.cli.demo",
        "Run the local demo: a real API server, Envoy, Prometheus and the operator, "
        "two rollouts.",
    ),
}


class LazyCommand(TyperCommand):
    """Stands in for a command in the listing; `load()` imports the real one."""

    def __init__(self, name: str, module: str, help: str) -> None:
        super().__init__(name=name, help=help)
        self.module = module

    def load(self) -> Any:
        command = typer.main.get_command(importlib.import_module(self.module).app)
        command.help = self.help
        return command


class CanaryGroup(TyperGroup):
    """The top-level group: the eagerly imported commands plus the lazy ones."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (module, text) in LAZY_COMMANDS.items():
            self.add_command(LazyCommand(name, module, text))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, LazyCommand):
            command = command.load()
        return name, command, rest


app = typer.Typer(
    name="canary",
    help="Progressive delivery over the Gateway API: canary rollouts gated on Prometheus.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=CanaryGroup,
)
app.command("operator")(operator.operator)
app.command("get")(get.get)
app.command("watch")(watch.watch)
app.command("wait")(wait.wait)
app.command("check")(check.check)
for command in (control.promote, control.abort, control.pause, control.resume, control.retry):
    app.command(command.__name__)(command)


def main() -> None:
    app()
