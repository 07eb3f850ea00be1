"""Route hints (problems that do not hold the rollout) are visible where people look: as an
addendum to RouteAccepted=True's message, and as one `RouteHint` Event per distinct hint, not
one per reconcile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import NOT_ALLOWED, World, make_spec, started

from canary.api.status import MESSAGE_LIMIT
from canary.core.conditions import ACCEPTED_MESSAGE
from canary.core.decision import Decision, EventReason
from canary.core.observations import RouteIssue, RouteProblem

pytestmark = pytest.mark.unit

UNCLAIMED = RouteIssue(
    RouteProblem.GATEWAY_CLASS_NOT_ACCEPTED, "GatewayClassNotAccepted",
    "GatewayClass contour has no Accepted condition, but Gateway infra/gw of that class is",
)
OTHER_RULE = RouteIssue(
    RouteProblem.REFS_NOT_RESOLVED, "BackendNotFound",
    "spec.rules[1], a rule the canary does not manage, refers to Service app/search: missing",
)


def hint_notes(decision: Decision) -> list[str]:
    return [e.message for e in decision.events if e.reason is EventReason.ROUTE_HINT]


def route_message(decision: Decision) -> str:
    found = decision.status.condition("RouteAccepted")
    assert found is not None and found.status == "True", found
    return found.message


def test_a_hint_is_added_to_the_accepted_message_and_told_once_as_an_event() -> None:
    world = World(make_spec(), hints=(UNCLAIMED,))
    first = world.tick()
    assert route_message(first).startswith(ACCEPTED_MESSAGE)
    assert UNCLAIMED.message in route_message(first)
    assert hint_notes(first) == [UNCLAIMED.message]
    assert all(e.type == "Warning" for e in first.events if e.reason is EventReason.ROUTE_HINT)
    for _ in range(3):  # later reconciles, the step advancing included: not told again
        world.now += timedelta(minutes=1)
        assert hint_notes(world.tick()) == []
    assert UNCLAIMED.message in route_message(world.history[-1])


def test_a_new_hint_is_told_alone_and_a_gone_one_leaves_the_message() -> None:
    world = started()
    assert route_message(world.history[-1]) == ACCEPTED_MESSAGE
    world.hints = (UNCLAIMED,)
    assert hint_notes(world.tick()) == [UNCLAIMED.message]
    world.hints = (UNCLAIMED, OTHER_RULE)
    both = world.tick()
    assert hint_notes(both) == [OTHER_RULE.message]
    assert "(1) " + UNCLAIMED.message in route_message(both)
    assert "(2) " + OTHER_RULE.message in route_message(both)
    world.hints = ()
    cleared = world.tick()
    assert route_message(cleared) == ACCEPTED_MESSAGE and hint_notes(cleared) == []
    world.hints = (OTHER_RULE,)  # back again: a new fact, told again
    assert hint_notes(world.tick()) == [OTHER_RULE.message]


def test_while_the_route_holds_the_problem_is_told_and_the_hints_wait() -> None:
    world = World(make_spec(), issues=(NOT_ALLOWED,), hints=(UNCLAIMED,))
    held = world.tick()
    found = held.status.condition("RouteAccepted")
    assert found is not None and (found.status, found.reason) == ("False", NOT_ALLOWED.reason)
    assert UNCLAIMED.message not in found.message and hint_notes(held) == []
    world.issues = ()
    world.now += timedelta(seconds=15)
    freed = world.tick()
    assert UNCLAIMED.message in route_message(freed)
    assert hint_notes(freed) == [UNCLAIMED.message]


def test_many_long_hints_keep_the_message_within_the_condition_limit() -> None:
    long = tuple(
        RouteIssue(RouteProblem.REFS_NOT_RESOLVED, "BackendNotFound", f"{n} " + "x" * 1500)
        for n in range(5)
    )
    world = World(make_spec(), hints=long)
    first = world.tick()
    assert len(route_message(first)) <= MESSAGE_LIMIT
    assert len(hint_notes(first)) == 5
    world.now += timedelta(minutes=1)
    assert hint_notes(world.tick()) == []  # clipped, yet not told again
