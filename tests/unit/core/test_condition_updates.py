"""Conditions: the standard shape, a fixed order, and a transition time that moves only when a
condition's status changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import T0

from canary.api import ConditionStatus, ConditionType, Phase
from canary.core.conditions import Situation, derive, set_condition

pytestmark = pytest.mark.unit


def situation(phase: Phase, reason: str = "RolloutInProgress", **kw: object) -> Situation:
    fields: dict[str, object] = {"route_problem": None, "invalid": None, "paused_by_spec": False}
    fields.update(kw)
    return Situation(phase=phase, reason=reason, message="message", **fields)  # type: ignore[arg-type]


def test_the_transition_time_moves_only_when_the_status_changes() -> None:
    first = set_condition((), ConditionType.READY, status=ConditionStatus.UNKNOWN,
                          reason="RolloutInProgress", message="a", now=T0, generation=1)
    later = T0 + timedelta(minutes=5)
    same = set_condition(first, ConditionType.READY, status=ConditionStatus.UNKNOWN,
                         reason="PausedBySpec", message="b", now=later, generation=2)
    assert same[0].last_transition_time == T0
    assert (same[0].reason, same[0].message, same[0].observed_generation) == (
        "PausedBySpec", "b", 2)
    changed = set_condition(same, ConditionType.READY, status=ConditionStatus.TRUE,
                            reason="Promoted", message="c", now=later, generation=2)
    assert changed[0].last_transition_time == later


def test_every_condition_type_is_set_once_in_a_fixed_order() -> None:
    weights = (ConditionStatus.TRUE, "InSync", "m")
    conditions = derive((), situation(Phase.PROGRESSING, weights=weights), now=T0, generation=1)
    assert [c.type for c in conditions] == [t.value for t in ConditionType]


def test_conditions_written_by_someone_else_are_kept() -> None:
    foreign = set_condition((), "example.com/Audited", status=ConditionStatus.TRUE,  # type: ignore[arg-type]
                            reason="Checked", message="", now=T0, generation=1)
    conditions = derive(foreign, situation(Phase.PROGRESSING), now=T0, generation=1)
    assert conditions[-1].type == "example.com/Audited"


@pytest.mark.parametrize(
    ("phase", "reason", "ready", "progressing", "promoted", "rolled_back", "paused"),
    [
        (Phase.PENDING, "RolloutPending", "Unknown", "True", "False", "False", "False"),
        (Phase.PROGRESSING, "RolloutInProgress", "Unknown", "True", "False", "False", "False"),
        (Phase.PAUSED, "PauseStep", "Unknown", "False", "False", "False", "True"),
        (Phase.PROMOTING, "Promoting", "Unknown", "True", "False", "False", "False"),
        (Phase.SUCCEEDED, "Promoted", "True", "False", "True", "False", "False"),
        (Phase.ROLLED_BACK, "Aborted", "False", "False", "False", "True", "False"),
        (Phase.FAILED, "UnsupportedRouteKind", "False", "False", "False", "False", "False"),
    ],
)
def test_each_phase_sets_the_conditions_kubectl_wait_relies_on(
    phase: Phase, reason: str, ready: str, progressing: str, promoted: str, rolled_back: str,
    paused: str,
) -> None:
    conditions = {c.type: c for c in derive((), situation(phase, reason), now=T0, generation=4)}
    assert [conditions[t].status for t in
            ("Ready", "Progressing", "Promoted", "RolledBack", "Paused")] == [
        ready, progressing, promoted, rolled_back, paused]
    assert conditions["Ready"].reason == reason


def test_route_problems_and_invalid_specs_carry_their_reason_and_message() -> None:
    conditions = {c.type: c for c in derive((), situation(
        Phase.FAILED, "UnsupportedRouteKind",
        route_problem=("RouteNotFound", "HTTPRoute api-route was not found"),
        invalid=("UnsupportedRouteKind", "use an HTTPRoute")), now=T0, generation=1)}
    assert (conditions["RouteAccepted"].status, conditions["RouteAccepted"].reason) == (
        "False", "RouteNotFound")
    assert conditions["InvalidSpec"].message == "use an HTTPRoute"


def test_a_finished_canary_paused_by_spec_reports_paused_without_changing_phase() -> None:
    conditions = {c.type: c for c in derive(
        (), situation(Phase.SUCCEEDED, "Promoted", paused_by_spec=True), now=T0, generation=1)}
    assert (conditions["Paused"].status, conditions["Paused"].reason) == ("True", "PausedBySpec")
    assert conditions["Ready"].status == "True"
