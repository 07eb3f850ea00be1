"""`get` and `watch` in workload mode: the primary's revision, the canary's revision and
images, the replicas, and what the operator waits for; Canaries that name two Services show
as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cliworld import canary_obj, snap, status
from rich.console import Console

from canary.cli.get import rows
from canary.cli.snapshot import Snapshot, snapshot
from canary.cli.split import Split
from canary.cli.view import view

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 3, 0, tzinfo=UTC)


def workload_snap(phase: str = "Progressing", **workload: Any) -> Snapshot:
    body = {
        "primaryRevision": "1a1a1a1a1a",
        "canaryRevision": "2b2b2b2b2b",
        "images": ["shop/api:v2", "shop/proxy:1.0"],
        "replicas": 3,
        **workload,
    }
    obj = canary_obj(
        revision=None,
        status=status(
            phase,
            revision="2b2b2b2b2b",
            workload=body,
            currentStep=1,
            totalSteps=3,
            canaryWeight=5,
            stableWeight=95,
        ),
        workload={"name": "api", "port": 8080},
    )
    del obj["spec"]["stable"], obj["spec"]["canary"]
    return snapshot(obj)


def test_get_wide_adds_the_primary_and_the_images_for_workload_canaries() -> None:
    text = rows(
        [workload_snap(), snap(status=status("Succeeded"))], NOW, all_namespaces=False, wide=True
    )
    head, first, second = text.splitlines()[:3]
    assert head.split()[-2:] == ["PRIMARY", "IMAGES"]
    assert first.split()[-2:] == ["1a1a1a1a1a", "shop/api:v2,shop/proxy:1.0"]
    assert first.split()[4] == "2b2b2b2b2b"
    assert second.split()[-2:] == ["-", "-"]
    assert (
        "Canary shop/api (Deployment api: primary 1a1a1a1a1a, canary 2b2b2b2b2b "
        "(shop/api:v2, shop/proxy:1.0), 3 replica(s)): no gate result yet"
    ) in text


def test_get_shows_a_new_template_not_started_yet() -> None:
    text = rows(
        [workload_snap("Succeeded", canaryRevision="3c3c3c3c3c")], NOW, all_namespaces=False
    )
    assert "2b2b2b2b2b -> 3c3c3c3c3c" in text


def test_get_without_workload_canaries_keeps_its_columns() -> None:
    text = rows([snap(status=status("Succeeded"))], NOW, all_namespaces=False, wide=True)
    assert "PRIMARY" not in text


def draw(s: Snapshot) -> str:
    console = Console(record=True, width=160)
    console.print(view(s, events=(), split=Split(False), now=NOW, conclusion=None))
    return console.export_text()


def test_watch_draws_a_workload_line_with_the_readiness_wait() -> None:
    text = draw(workload_snap("Pending", waitingSince="2025-03-01T12:02:15Z"))
    assert (
        "Workload  Deployment api: primary 1a1a1a1a1a, canary 2b2b2b2b2b (shop/api:v2, "
        "shop/proxy:1.0), 3 replica(s); waiting 45s for api to be ready"
    ) in text
    assert "waiting since 12:02:15 for the canary Deployment to be ready" in text


def test_watch_of_a_promotion_waits_for_the_primary() -> None:
    text = draw(workload_snap("Promoting", waitingSince="2025-03-01T12:02:15Z"))
    assert "waiting 45s for api-primary to be ready" in text


def test_watch_says_when_the_deployment_runs_a_template_not_started_yet() -> None:
    text = draw(workload_snap("Succeeded", canaryRevision="3c3c3c3c3c"))
    assert "the Deployment runs 3c3c3c3c3c: not started yet" in text


def test_watch_of_a_two_services_canary_has_no_workload_line() -> None:
    assert "Workload" not in draw(snap(status=status("Progressing")))
