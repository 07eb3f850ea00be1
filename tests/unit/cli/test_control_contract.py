"""The control commands speak the spec contract: a fresh nonce in `spec.requests`, or
`spec.paused`; and they warn when the operator will not act on a request in this phase."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cliworld import condition, snap, status

from canary.api import CanarySpec, RequestKind
from canary.cli.contract import advice, nonce, pause_patch, request_patch

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 3, tzinfo=UTC)


def test_every_request_is_a_merge_patch_with_a_new_nonce_the_api_accepts() -> None:
    first, second = nonce(NOW), nonce(NOW)
    assert first != second and first.startswith("2025-03-01T12:03:00Z-")
    patch = request_patch(RequestKind.PROMOTE_FULL, first)
    assert patch == {"spec": {"requests": {"promoteFull": first}}}
    spec = CanarySpec.model_validate(
        {
            "routeRef": {"name": "r"},
            "stable": {"name": "a", "port": 1},
            "canary": {"name": "b", "port": 1},
            "steps": {"weights": [5]},
            **patch["spec"],
        }
    )
    assert spec.requests.get(RequestKind.PROMOTE_FULL) == first


def test_pause_and_resume_set_spec_paused() -> None:
    assert pause_patch(True) == {"spec": {"paused": True}}
    assert pause_patch(False) == {"spec": {"paused": False}}


@pytest.mark.parametrize(
    ("kind", "phase", "paused", "expected"),
    [
        (RequestKind.PROMOTE, "Progressing", False, None),
        (RequestKind.PROMOTE_FULL, "Paused", False, None),
        (RequestKind.ABORT, "Progressing", False, None),
        (RequestKind.RETRY, "RolledBack", False, None),
        (RequestKind.PROMOTE, "Succeeded", False, "will be ignored"),
        (RequestKind.PROMOTE, "Pending", False, "has not started yet"),
        (RequestKind.ABORT, "Succeeded", False, "already finished"),
        (RequestKind.RETRY, "Progressing", False, "only a rolled-back rollout"),
        (RequestKind.PROMOTE, "Paused", True, "canary resume api"),
        (RequestKind.ABORT, "Paused", True, None),
    ],
)
def test_advice_says_when_the_operator_will_not_act(
    kind: RequestKind, phase: str, paused: bool, expected: str | None
) -> None:
    conditions = [condition("Paused", "True", "PausedBySpec")] if paused else []
    note = advice(kind, snap(paused=paused, status=status(phase, conditions=conditions)))
    assert note is None if expected is None else expected in (note or "")


def test_advice_asks_about_the_operator_when_there_is_no_status() -> None:
    assert "is the operator running?" in (
        advice(RequestKind.ABORT, snap(status={"phase": "Progressing"})) or ""
    )
