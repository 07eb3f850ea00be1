"""docs/state-machine.md is where a reader learns what the operator does: it must name every
phase, event, condition type and condition reason (RouteAccepted's too) the code can produce."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from canary.api import ConditionReason, ConditionType, Phase, RouteReason
from canary.core.decision import EventReason

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[3] / "docs" / "state-machine.md"


@pytest.mark.parametrize(
    "vocabulary", [Phase, EventReason, ConditionReason, ConditionType, RouteReason],
    ids=lambda e: e.__name__,
)
def test_the_state_machine_page_names_every_value(vocabulary: type[StrEnum]) -> None:
    text = PAGE.read_text()
    missing = [value.value for value in vocabulary if f"`{value.value}`" not in text]
    assert missing == []
