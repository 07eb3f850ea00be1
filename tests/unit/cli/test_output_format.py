"""Plain output reads like kubectl's: ages, aligned columns, and `get`'s rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from cliworld import snap, status

from canary.cli.get import revision_cell, rows
from canary.cli.render import OutputFormat, age, clean, columns, dump

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-5, "0s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (9 * 3600, "9h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y"),
    ],
)
def test_ages_read_like_kubectl(seconds: int, text: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == text


def test_an_unknown_time_is_a_dash() -> None:
    assert age(None, NOW) == "-"


def test_columns_are_aligned_three_spaces_apart() -> None:
    assert columns(("name", "phase"), [["api", "Succeeded"], ["checkout", "-"]]) == (
        "NAME       PHASE\napi        Succeeded\ncheckout   -"
    )


def test_a_get_row_shows_phase_weights_step_revision_and_ages() -> None:
    one = snap(
        status=status(
            "Progressing",
            stableWeight=75,
            canaryWeight=25,
            currentStep=2,
            totalSteps=3,
            lastCheckTime="2025-03-01T11:59:30Z",
        )
    )
    table = rows([one], NOW, all_namespaces=False).splitlines()
    assert table[0].split() == [
        "NAME",
        "PHASE",
        "STABLE/CANARY",
        "STEP",
        "REVISION",
        "LAST",
        "CHECK",
        "AGE",
    ]
    assert table[1].split() == ["api", "Progressing", "75/25", "2/3", "v2", "30s", "0s"]
    assert rows([one], NOW, all_namespaces=True).splitlines()[1].split()[0] == "shop"


def test_the_revision_cell_shows_a_revision_not_started_yet() -> None:
    assert revision_cell(snap(status=status("Succeeded"))) == "v2"
    assert revision_cell(snap(revision="v3", status=status("Succeeded"))) == "v2 -> v3"
    assert revision_cell(snap(status={})) == "- -> v2"


def test_json_and_yaml_dumps_drop_managed_fields() -> None:
    obj = {"metadata": {"name": "api", "managedFields": [{"manager": "x"}]}, "spec": {}}
    assert yaml.safe_load(dump(clean(obj), OutputFormat.YAML)) == {
        "metadata": {"name": "api"},
        "spec": {},
    }
    assert '"managedFields"' not in dump(clean(obj), OutputFormat.JSON)
