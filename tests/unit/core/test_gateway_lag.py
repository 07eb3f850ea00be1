"""A gateway that falls behind our weight write: a short lag is a quiet wait; a longer one
restarts the step once the gateway catches up (the new weight gets its whole interval before it
is checked), and past a grace it shows as RouteAccepted=False (StatusOutdated) with an Event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import condition, events, passing, started, weights_set

from canary.api import Phase
from canary.core.decision import EventReason
from canary.core.observations import RouteIssue, RouteProblem
from canary.core.route_hold import LAG_GRACE, LAG_MARK

pytestmark = pytest.mark.unit

OUTDATED = RouteIssue(RouteProblem.NO_PARENT_STATUS, "StatusOutdated",
                      "the gateway has not processed generation 2 of HTTPRoute api-route yet")
INTERVAL = timedelta(minutes=1)


def test_a_gateway_that_answers_within_the_mark_costs_no_status_write() -> None:
    world = started()
    began = world.status.step_started_at
    world.issues = (OUTDATED,)
    world.now += LAG_MARK - timedelta(seconds=1)
    quiet = world.tick()
    assert quiet.actions == () and quiet.status.gateway_lag_since is None
    world.issues = ()
    world.now += timedelta(seconds=1)
    assert world.tick().status.step_started_at == began


def test_a_lagging_gateway_restarts_the_step_once_it_catches_up() -> None:
    world = started()
    world.issues = (OUTDATED,)
    world.now += LAG_MARK
    marked = world.tick()
    assert marked.status.gateway_lag_since == world.now
    assert marked.actions == () and condition(marked.status, "RouteAccepted")[0] == "True"
    # The gateway stays behind longer than the whole step interval...
    world.now += INTERVAL + timedelta(seconds=5)
    world.tick(passing)
    # ...then catches up: the step starts now, and nothing is checked yet.
    world.issues = ()
    world.now += timedelta(seconds=1)
    caught = world.tick(passing)
    assert caught.status.step_started_at == world.now
    assert caught.status.gateway_lag_since is None
    assert caught.status.last_check_time is None and weights_set(caught) == []
    assert caught.requeue_after == INTERVAL
    # The check comes a whole interval later, and the rollout moves on as usual.
    world.now += INTERVAL
    checked = world.tick(passing)
    assert checked.status.last_check_time == world.now
    assert weights_set(checked) == [10]


def test_a_lag_past_the_grace_is_reported_and_clears_when_the_gateway_catches_up() -> None:
    world = started()
    world.issues = (OUTDATED,)
    world.now += LAG_MARK
    world.tick()
    world.now += LAG_GRACE
    late = world.tick()
    assert condition(late.status, "RouteAccepted") == ("False", "StatusOutdated")
    assert EventReason.ROUTE_NOT_ACCEPTED in events(late)
    assert "has not processed generation 2" in late.status.message
    assert late.status.phase is Phase.PROGRESSING and weights_set(late) == []
    world.issues = ()
    world.now += timedelta(seconds=5)
    back = world.tick(passing)
    assert condition(back.status, "RouteAccepted") == ("True", "Accepted")
    assert EventReason.ROUTE_ACCEPTED in events(back)
    assert back.status.step_started_at == world.now and back.status.gateway_lag_since is None
