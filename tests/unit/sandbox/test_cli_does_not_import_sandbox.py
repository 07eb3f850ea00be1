"""The sandbox stays out of the product's start-up: `canary --help`, `canary operator` and
`canary get` never import `canary.sandbox` (the operator image does not need it, and a kubectl
plugin must answer fast); `canary demo` and `canary sandbox` still work, loaded when used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import typer
from typer.testing import CliRunner

from canary.cli.app import app

pytestmark = pytest.mark.unit

# Runs in a fresh interpreter: this test process has long imported the sandbox.
PROBE = textwrap.dedent(
    """
    import json, sys
    from typer.testing import CliRunner
    from canary.cli.app import app

    codes = {}
    for args in (["--help"], ["operator", "--help"], ["get", "--help"], ["wait", "--help"]):
        codes[" ".join(args)] = CliRunner().invoke(app, args).exit_code
    loaded = sorted(m for m in sys.modules if m.split(".")[:2] == ["canary", "sandbox"])
    print(json.dumps({"codes": codes, "sandbox": loaded}))
    """
)


def test_the_product_commands_never_import_the_sandbox() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    result = json.loads(out.splitlines()[-1])
    assert set(result["codes"].values()) == {0}
    assert result["sandbox"] == []


def test_the_listing_still_names_the_sandbox_commands() -> None:
    listing = CliRunner().invoke(app, ["--help"]).output
    assert "demo" in listing and "sandbox" in listing


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["demo", "--help"], "--speed"), (["sandbox", "--help"], "build-binaries")],
)
def test_the_sandbox_commands_load_when_used(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and expected in result.output


def test_a_bad_demo_option_is_a_usage_error() -> None:
    assert CliRunner().invoke(app, ["demo", "--speed", "bogus"]).exit_code == 2


def test_every_command_is_registered() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert {"operator", "get", "demo", "sandbox"} <= set(group.commands)
