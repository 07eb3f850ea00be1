"""The manual-control contract: spec.paused, and promote / promoteFull / abort / retry requests
made by setting a new nonce, each acting exactly once and recorded in status.handledRequests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import (
    MINUTE,
    NOT_ALLOWED,
    World,
    condition,
    events,
    failing,
    make_spec,
    passing,
    run_until_settled,
    started,
    weights_set,
)

from canary.api import Phase
from canary.core.decide import decide
from canary.core.decision import EventReason
from canary.core.observations import Observations, RouteObservation

pytestmark = pytest.mark.unit


def test_abort_rolls_back_at_once_and_records_the_nonce() -> None:
    world = started()
    world.edit(requests={"abort": "n1"})
    decision = world.tick()
    assert decision.status.phase is Phase.ROLLING_BACK
    assert weights_set(decision) == [0]
    assert decision.status.handled_requests.abort == "n1"
    assert EventReason.ABORTED in events(decision)
    confirmed = world.tick()
    assert confirmed.status.phase is Phase.ROLLED_BACK
    assert condition(confirmed.status, "RolledBack") == ("True", "Aborted")


def test_abort_during_a_rollback_is_ignored_and_retry_waits_for_it_to_finish() -> None:
    world = started()
    world.edit(requests={"abort": "n1"})
    decided = world.decide()
    world.status = decided.status  # the route write did not land yet
    world.edit(requests={"abort": "n2", "retry": "r1"})
    decision = world.decide()
    assert weights_set(decision) == [0]
    assert decision.status.phase is Phase.ROLLING_BACK
    assert decision.status.handled_requests.abort == "n2"
    assert decision.status.handled_requests.retry is None
    assert EventReason.REQUEST_IGNORED in events(decision)
    world.apply(decision)
    done = world.tick()
    assert done.status.phase is Phase.ROLLED_BACK
    retried = world.tick()
    assert retried.status.phase is Phase.PROGRESSING
    assert retried.status.handled_requests.retry == "r1"


def test_the_same_nonce_never_acts_twice() -> None:
    world = started()
    world.edit(requests={"promote": "p1"})
    first = world.tick()
    assert weights_set(first) == [10]
    world.now += timedelta(seconds=5)
    second = world.tick()
    assert weights_set(second) == []
    assert second.status.canary_weight == 10


def test_promote_finishes_the_current_step_now_without_its_check() -> None:
    world = started()
    world.now += timedelta(seconds=10)
    world.edit(requests={"promote": "p1"})
    decision = world.tick()
    assert weights_set(decision) == [10]
    assert decision.status.last_check_time is None
    assert decision.status.handled_requests.promote == "p1"


def test_promote_ends_a_manual_pause() -> None:
    world = started(steps={"pauses": [{"atWeight": 5}]})
    world.checked(passing)
    assert world.status.phase is Phase.PAUSED
    world.edit(requests={"promote": "go"})
    decision = world.tick()
    assert weights_set(decision) == [10]
    assert decision.status.phase is Phase.PROGRESSING


def test_promote_full_skips_every_remaining_step() -> None:
    world = started()
    world.edit(requests={"promoteFull": "all"})
    decision = world.tick()
    assert decision.status.phase is Phase.PROMOTING
    assert weights_set(decision) == [100]
    assert world.tick().status.phase is Phase.SUCCEEDED


def test_retry_after_a_rollback_starts_again_from_the_first_step() -> None:
    world = started()
    run_until_settled(world, failing)
    assert world.status.phase is Phase.ROLLED_BACK
    world.edit(requests={"retry": "r1"})
    decision = world.tick()
    assert decision.status.phase is Phase.PROGRESSING
    assert weights_set(decision) == [5]
    assert (decision.status.failed_checks, decision.status.current_step) == (0, 1)
    assert EventReason.RETRIED in events(decision)
    assert condition(decision.status, "RolledBack")[0] == "False"


def test_a_request_that_makes_no_sense_now_is_recorded_and_reported_not_kept() -> None:
    world = started()
    world.edit(requests={"retry": "r1"})
    decision = world.tick()
    assert decision.status.handled_requests.retry == "r1"
    assert EventReason.REQUEST_IGNORED in events(decision)
    assert weights_set(decision) == []
    assert decision.requeue_after == MINUTE  # the step goes on as scheduled


def test_an_ignored_request_does_not_delay_a_check_that_is_due() -> None:
    world = started()
    world.now += MINUTE
    world.edit(requests={"retry": "r1"})
    decision = world.tick(passing)
    assert weights_set(decision) == [10]
    assert EventReason.REQUEST_IGNORED in events(decision)


def test_promote_after_success_is_ignored() -> None:
    world = World(make_spec(steps={"weights": [50]}))
    run_until_settled(world, passing)
    world.edit(requests={"promote": "late"})
    decision = world.tick()
    assert decision.status.phase is Phase.SUCCEEDED
    assert EventReason.REQUEST_IGNORED in events(decision)
    assert decision.actions[-1].message.startswith("Request promote='late' ignored")  # type: ignore[union-attr]


def test_requests_present_when_the_canary_is_created_are_adopted_not_acted_on() -> None:
    world = World(make_spec(requests={"abort": "copied-from-another-canary"}))
    decision = world.tick()
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.handled_requests.abort == "copied-from-another-canary"


def test_abort_and_promote_together_abort_first_then_promote_is_ignored() -> None:
    world = started()
    world.edit(requests={"abort": "a", "promote": "p"})
    first = world.tick()
    assert first.status.phase is Phase.ROLLING_BACK
    assert first.requeue_after == timedelta(0)
    assert first.status.handled_requests.promote is None
    second = world.tick()
    assert second.status.handled_requests.promote == "p"
    assert second.status.phase is Phase.ROLLED_BACK
    assert weights_set(second) == []


def test_a_paused_canary_changes_nothing_even_when_the_route_drifts() -> None:
    world = started()
    world.edit(paused=True)
    paused = world.tick()
    assert paused.status.phase is Phase.PAUSED
    assert condition(paused.status, "Paused") == ("True", "PausedBySpec")
    assert EventReason.PAUSED in events(paused)
    world.canary_weight = 30
    world.now += timedelta(hours=2)
    decision = world.tick(passing)
    assert decision.actions == ()
    assert decision.requeue_after is None
    assert decision.status.canary_weight == 5


def test_promote_waits_while_paused_and_acts_after_the_resume() -> None:
    world = started()
    world.edit(paused=True, requests={"promote": "p"})
    decision = world.tick()
    assert decision.status.handled_requests.promote is None
    assert weights_set(decision) == []
    world.edit(paused=False)
    resumed = world.tick()
    assert EventReason.RESUMED in events(resumed)
    assert weights_set(resumed) == [10]
    assert resumed.status.handled_requests.promote == "p"


def test_abort_acts_even_while_paused() -> None:
    world = started()
    world.edit(paused=True, requests={"abort": "stop"})
    decision = world.tick()
    assert decision.status.phase is Phase.ROLLING_BACK
    assert weights_set(decision) == [0]


def test_a_canary_created_paused_does_not_start_until_resumed() -> None:
    world = World(make_spec(paused=True))
    decision = world.tick()
    assert decision.status.phase is Phase.PAUSED
    assert decision.actions[-1].reason is EventReason.PAUSED  # type: ignore[union-attr]
    assert weights_set(decision) == []
    world.edit(paused=False)
    assert weights_set(world.tick()) == [5]


def test_a_new_revision_waits_while_paused() -> None:
    world = started()
    world.edit(paused=True, revision="v3")
    decision = world.tick()
    assert decision.status.revision == "api-svc-v2:80"
    assert "v3 will start" in decision.status.message


def test_pausing_a_finished_canary_keeps_its_phase_and_blocks_the_next_rollout() -> None:
    world = World(make_spec(steps={"weights": [50]}))
    run_until_settled(world, passing)
    world.edit(paused=True, revision="next")
    decision = world.tick()
    assert decision.status.phase is Phase.SUCCEEDED
    assert condition(decision.status, "Paused") == ("True", "PausedBySpec")
    assert weights_set(decision) == []


def test_abort_while_the_route_is_missing_rolls_back_without_writing_the_route() -> None:
    world = started()
    world.edit(requests={"abort": "x"})
    gone = Observations(route=RouteObservation(exists=False))
    decision = decide(world.spec, world.status, observations=gone,
                      now=world.now, generation=world.generation)
    assert decision.status.phase is Phase.ROLLING_BACK
    assert weights_set(decision) == []
    done = decide(world.spec, decision.status, observations=gone,
                  now=world.now, generation=world.generation)
    assert done.status.phase is Phase.ROLLED_BACK
    assert weights_set(done) == []


def test_promote_waits_while_the_route_is_not_accepted() -> None:
    world = started()
    world.issues = (NOT_ALLOWED,)
    world.edit(requests={"promote": "p"})
    decision = world.tick()
    assert decision.status.handled_requests.promote is None
    assert weights_set(decision) == []


def test_resuming_a_finished_canary_leaves_it_finished() -> None:
    world = World(make_spec(steps={"weights": [50]}))
    run_until_settled(world, passing)
    world.edit(paused=True)
    world.tick()
    world.edit(paused=False)
    decision = world.tick()
    assert decision.status.phase is Phase.SUCCEEDED
    assert weights_set(decision) == []
    assert condition(decision.status, "Paused") == ("False", "NotPaused")
