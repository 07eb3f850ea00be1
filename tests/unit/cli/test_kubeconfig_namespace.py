"""The namespace a command acts in resolves as kubectl resolves it: `-n`, else the context's
namespace in the merged kubeconfigs, else `default`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from canary.cli.kubeconfig import Connection, context_namespace, default_namespace, kubeconfig_paths

pytestmark = pytest.mark.unit

FIRST = {
    "current-context": "dev",
    "contexts": [
        {"name": "dev", "context": {"cluster": "c", "namespace": "team-a"}},
        {"name": "bare", "context": {"cluster": "c"}},
    ],
}
SECOND = {
    "current-context": "prod",
    "contexts": [
        {"name": "prod", "context": {"namespace": "team-p"}},
        {"name": "dev", "context": {"namespace": "shadowed"}},
    ],
}


def test_the_current_context_of_the_first_file_that_sets_one_wins() -> None:
    assert context_namespace([FIRST, SECOND], None) == "team-a"
    assert context_namespace([{"contexts": []}, SECOND], None) == "team-p"


def test_an_explicit_context_is_looked_up_first_file_first() -> None:
    assert context_namespace([FIRST, SECOND], "prod") == "team-p"
    assert context_namespace([FIRST, SECOND], "dev") == "team-a"


def test_a_context_without_namespace_or_an_unknown_context_gives_none() -> None:
    assert context_namespace([FIRST], "bare") is None
    assert context_namespace([FIRST], "missing") is None
    assert context_namespace([], None) is None


def test_kubeconfig_paths_follow_flag_then_env_list_then_home() -> None:
    home = Path("/home/u")
    assert kubeconfig_paths(Path("/k"), "/a:/b", home) == [Path("/k")]
    assert kubeconfig_paths(None, f"/a{os.pathsep}{os.pathsep}/b", home) == [Path("/a"), Path("/b")]
    assert kubeconfig_paths(None, None, home) == [home / ".kube" / "config"]


def test_default_namespace_prefers_the_flag_then_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump(FIRST))
    assert default_namespace(Connection(config, None, "explicit")) == "explicit"
    assert default_namespace(Connection(config, None, None)) == "team-a"
    assert default_namespace(Connection(config, "bare", None)) == "default"
