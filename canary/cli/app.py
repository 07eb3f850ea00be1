"""Entry point of the `canary` (and `kubectl-canary`) command.

Only wires sub-commands together; each command lives in its own module, imported only when
that command runs (or shows its own help): `canary --help` loads none of them, `canary get`
never loads the controller or the sandbox (`canary demo`/`canary sandbox` drive the local
sandbox, which the operator image does not need), and a kubectl plugin answers fast.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# name -> (module, its command: a function or a Typer `app`, one-line help for `canary --help`;
# tests/unit/cli keeps each line equal to the first line of the command's own help)
COMMANDS = {
    "operator": (
        "canary.cli.operator", "operator",
        "Run the canary operator: reconcile Canaries until stopped.",
    ),
    "get": (
        "canary.cli.get", "get",
        "List Canaries: phase, stable/canary weights, step, revision, last check and age.",
    ),
    "watch": (
        "canary.cli.watch", "watch",
        "Show a rollout live until it finishes; exit codes as `wait --for promoted`.",
    ),
    "wait": (
        "canary.cli.wait", "wait",
        "Wait until the rollout is promoted, rolled back or finished (Paused is not finished).",
    ),
    "check": (
        "canary.cli.check", "check",
        "Preflight a Canary: report everything that would stop its rollout, with hints.",
    ),
    "promote": (
        "canary.cli.control", "promote",
        "Move to the next step now (ends a pause), or with --full promote at once.",
    ),
    "abort": (
        "canary.cli.control", "abort",
        "Roll back now: 100 % to the stable backend (reason Aborted).",
    ),
    "pause": (
        "canary.cli.control", "pause",
        "Hold the rollout: the operator changes nothing until `resume` (abort still acts).",
    ),
    "resume": ("canary.cli.control", "resume", "Let a paused rollout go on where it stood."),
    "retry": (
        "canary.cli.control", "retry",
        "Start a rolled-back rollout again from the first step, same revision.",
    ),
    "sandbox": (
        "canary.cli.sandbox", "app",
        "A local Kubernetes control plane (etcd + kube-apiserver) on loopback.",
    ),
    "demo": (
        "canary.cli.demo", "app",
        "Run the local demo: a real API server, Envoy, Prometheus and the operator, "
        "two rollouts.",
    ),
}


class LazyCommand(TyperCommand):
    """Stands in for a command in the listing; `load()` imports the real one."""

    def __init__(self, name: str, module: str, attribute: str, help: str) -> None:
        super().__init__(name=name, help=help)
        self.module, self.attribute = module, attribute

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        """Parsing arguments is the real command's job (a caller holding the placeholder)."""
        return self.load().make_context(info_name, args, *a, **kw)

    @functools.cache  # noqa: B019 - one placeholder per command, alive as long as the CLI
    def load(self) -> Any:
        target = getattr(importlib.import_module(self.module), self.attribute)
        if isinstance(target, typer.Typer):  # a command with its own app (demo, sandbox)
            command = typer.main.get_command(target)
            command.help = self.help
            return command
        single = typer.Typer()
        single.command(self.name)(target)
        return typer.main.get_command(single)


class CanaryGroup(TyperGroup):
    """The top-level group: every command, each imported when it is used."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (module, attribute, text) in COMMANDS.items():
            self.add_command(LazyCommand(name, module, attribute, text))

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


@app.callback()
def _group() -> None:
    """Makes `app` a group even though its commands are added by `CanaryGroup`."""

def main() -> None:
    app()
