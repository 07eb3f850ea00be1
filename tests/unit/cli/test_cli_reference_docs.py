"""docs/cli.md and docs/pipelines.md are what people and pipelines rely on: every exit code with
its meaning, every command, and pipeline examples that call the CLI with flags it accepts and
run the tested start-rollout script."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from canary.cli.app import app
from canary.cli.exitcodes import MEANINGS, ExitCode

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
CLI_PAGE = (REPO / "docs" / "cli.md").read_text()
PIPELINES_PAGE = (REPO / "docs" / "pipelines.md").read_text()
EXAMPLES = REPO / "examples" / "pipelines"
PIPELINES = ["argo-workflow.yaml", "tekton-task.yaml", "github-actions.yaml"]
WORKLOAD_PIPELINES = [f"workload/{name}" for name in PIPELINES]
COMMAND: Any = typer.main.get_command(app)  # a group of typer's own (vendored) click


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda c: c.name)
def test_the_cli_page_lists_every_exit_code_with_its_meaning(code: ExitCode) -> None:
    assert f"| {int(code)} | `{code.name}` | {MEANINGS[code]} |" in CLI_PAGE


@pytest.mark.parametrize("name", sorted(set(COMMAND.commands) - {"operator", "sandbox"}))
def test_the_cli_page_documents_every_command(name: str) -> None:
    assert f"canary {name}" in CLI_PAGE


def _script_lines() -> list[str]:
    text = (EXAMPLES / "start-rollout.sh").read_text()
    body = text[text.index("set -eu") :]
    return [line.strip() for line in body.splitlines() if line.strip()]


@pytest.mark.parametrize("name", PIPELINES)
def test_every_pipeline_runs_the_tested_start_rollout_script(name: str) -> None:
    text = (EXAMPLES / name).read_text()
    stripped = [line.strip() for line in text.splitlines() if line.strip()]
    start = stripped.index("set -eu")
    assert stripped[start : start + len(_script_lines())] == _script_lines()


def _containers(node: Any) -> Iterator[list[str]]:
    if isinstance(node, dict):
        if node.get("command") == ["canary"]:
            yield [str(arg) for arg in node.get("args", [])]
        for value in node.values():
            yield from _containers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _containers(value)


def invocations(name: str) -> list[list[str]]:
    text = (EXAMPLES / name).read_text()
    found = [args for doc in yaml.safe_load_all(text) for args in _containers(doc)]
    for line in re.findall(r"^\s*(canary \S.*)$", text, re.M):
        words = list(shlex.shlex(line, posix=True, punctuation_chars=True))
        end = next((i for i, w in enumerate(words) if set(w) <= set(";&|")), len(words))
        found.append(words[1:end])
    return found


@pytest.mark.parametrize("name", PIPELINES + WORKLOAD_PIPELINES)
def test_every_pipeline_calls_the_cli_with_flags_it_accepts(name: str) -> None:
    calls = invocations(name)
    assert calls
    for args in calls:
        command = COMMAND.commands[args[0]]
        command.make_context(args[0], args[1:])  # raises a UsageError on a bad flag


@pytest.mark.parametrize("name", PIPELINES)
def test_every_pipeline_waits_for_its_own_revision_to_be_promoted(name: str) -> None:
    waits = [args for args in invocations(name) if args[0] == "wait"]
    assert waits
    for args in waits:
        joined = " ".join(args)
        assert re.search(r"--for[= ]promoted", joined) and "--revision" in joined


@pytest.mark.parametrize("name", WORKLOAD_PIPELINES)
def test_every_workload_pipeline_sets_one_image_and_waits_for_that_image(name: str) -> None:
    text = (EXAMPLES / name).read_text()
    assert "set image" in text or "- image\n" in text
    (args,) = [args for args in invocations(name) if args[0] == "wait"]
    joined = " ".join(args)
    assert re.search(r"--for[= ]promoted", joined) and "--image" in joined
    assert "patch canary" not in text  # one change per release: the Deployment's image


def test_every_yaml_snippet_of_the_pipelines_page_is_in_an_example() -> None:
    names = PIPELINES + WORKLOAD_PIPELINES
    examples = "\n".join((EXAMPLES / name).read_text() for name in names)
    lines = {line.strip() for line in examples.splitlines()}
    for block in re.findall(r"```yaml\n(.*?)```", PIPELINES_PAGE, re.S):
        missing = [s for s in (x.strip() for x in block.splitlines()) if s and s not in lines]
        assert missing == []
