"""`canary --help` lists every command without importing it: the listing's one-line help is
kept in `canary.cli.app.COMMANDS`, and must say what the command's own help says."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from canary.cli.app import COMMANDS, LazyCommand, app

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listing_says_what_the_command_itself_says(name: str) -> None:
    placeholder = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    assert isinstance(placeholder, LazyCommand)
    loaded = placeholder.load()
    own = (loaded.help or "").strip().split("\n\n")[0].replace("\n", " ")
    assert own == COMMANDS[name][2]


def test_the_top_level_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from canary.cli.app import COMMANDS, app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "print(sorted({m for m, _, _ in COMMANDS.values()} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
