"""docs/state-machine.md is where a reader learns what the operator does: it must name every
phase, event, condition type and condition reason (RouteAccepted's too) the code can produce,
and follow `decide()` as the code does: its rules in every phase, then a section per handler
under the handler's name, naming the phases the handler is dispatched for."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from canary.api import ConditionReason, ConditionType, Phase, RouteReason
from canary.core import phases
from canary.core.decide import HANDLERS, decide
from canary.core.decision import EventReason

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[3] / "docs" / "state-machine.md"


def section(title: str) -> str:
    """The text of the `## title` section of the page, up to the next `## ` heading."""
    text = PAGE.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


@pytest.mark.parametrize(
    "vocabulary", [Phase, EventReason, ConditionReason, ConditionType, RouteReason],
    ids=lambda e: e.__name__,
)
def test_the_state_machine_page_names_every_value(vocabulary: type[StrEnum]) -> None:
    text = PAGE.read_text()
    missing = [value.value for value in vocabulary if f"`{value.value}`" not in text]
    assert missing == []


def test_the_page_has_a_section_per_handler_naming_the_phases_it_is_dispatched_for() -> None:
    headings = re.findall(r"^### `(\w+)`: (.*)$", section("Phase handlers"), flags=re.MULTILINE)
    documented = {name: set(re.findall(r"`(\w+)`", rest)) & set(Phase) for name, rest in headings}
    dispatched: dict[str, set[str]] = {phases.paused_by_spec.__name__: set()}
    for phase, handler in HANDLERS.items():
        dispatched.setdefault(handler.__name__, set()).add(phase.value)
    assert documented == dispatched
    assert all(getattr(phases, name) for name in documented)


def test_every_phase_but_failed_has_a_handler() -> None:
    """Failed is turned back into the phase the rollout stood in before the dispatch."""
    assert set(Phase) - set(HANDLERS) == {Phase.FAILED}


def test_the_page_lists_the_rules_of_every_phase_as_decide_does() -> None:
    def numbered(text: str) -> list[int]:
        return [int(n) for n in re.findall(r"^ {0,4}(\d+)\. ", text, flags=re.MULTILINE)]

    assert decide.__doc__ is not None
    assert numbered(section("In every phase, first")) == numbered(decide.__doc__)
