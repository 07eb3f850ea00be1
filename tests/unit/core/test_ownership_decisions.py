"""One Canary owns a rule's weights; a writer that keeps changing them is held off, not fought;
the status says what the route carries; a revision bump after a Weights promotion is refused.
(Issue 10: bug 2 and points 4 and 5.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import (
    MINUTE,
    World,
    condition,
    events,
    make_spec,
    passing,
    started,
    weights_set,
)

from canary.api import Phase
from canary.core.decide import decide
from canary.core.decision import Decision, EventReason
from canary.core.observations import Observations
from canary.core.ownership import CONTEST_WINDOW, Claim, owner_of

pytestmark = pytest.mark.unit

V1, V2, V3 = ("api-svc-v1", 80), ("api-svc-v2", 80), ("api-svc-v3", 80)


def claim(name: str, created: str, *backends: tuple[str, int]) -> Claim:
    return Claim(name, created, frozenset(("app", *backend) for backend in backends))


def test_a_backend_of_the_same_name_in_another_namespace_is_not_shared() -> None:
    a = claim("a", "2026-12-01T10:00:00Z", V1, V2)
    b = Claim("b", "2026-12-01T10:05:00Z", frozenset({("app", *V1), ("other", *V3)}))
    c = Claim("c", "2026-12-01T10:06:00Z", frozenset({("app", *V3), ("other", *V2)}))
    assert owner_of(b, [a, b, c]) == "a"
    assert owner_of(c, [a, b, c]) is None


def test_the_oldest_canary_naming_a_shared_backend_owns_the_weights() -> None:
    a = claim("a", "2026-12-01T10:00:00Z", V1, V2)
    b = claim("b", "2026-12-01T10:05:00Z", V1, V2)
    c = claim("c", "2026-12-01T09:00:00Z", ("other", 80), V3)
    assert owner_of(b, [a, b, c]) == "a"
    assert owner_of(a, [a, b, c]) is None
    assert owner_of(c, [a, b, c]) is None  # no shared backend: another rule's weights
    d = claim("d", "2026-12-01T10:00:00Z", V1, V3)  # same second as a: the name decides
    assert owner_of(d, [a, d]) == "a"
    assert owner_of(a, [a, d]) is None


def decide_as_non_owner(world: World, owner: str = "a") -> Decision:
    obs = Observations(route=world.route, owner=owner)
    decision = decide(world.spec, world.status, observations=obs, now=world.now,
                      generation=world.generation)
    world.apply(decision)
    return decision


def test_a_canary_that_does_not_own_the_weights_never_writes_and_says_who_does() -> None:
    world = World(make_spec())
    world.canary_weight = 10  # the owner's rollout is at 10 %
    first = decide_as_non_owner(world)
    assert weights_set(first) == []
    assert first.status.phase is Phase.PENDING
    assert condition(first.status, "WeightsInSync") == ("False", "OwnedByAnotherCanary")
    assert "Canary a owns the weights" in first.status.message
    in_sync = first.status.condition("WeightsInSync")
    assert in_sync is not None and "Canary a owns the weights" in in_sync.message
    assert events(first) == [EventReason.OWNED_BY_ANOTHER_CANARY]
    for _ in range(5):  # a request and time change nothing, and the event is not repeated
        world.now += MINUTE
        world.edit(requests={"abort": f"x{_}", "promote": f"p{_}"})
        later = decide_as_non_owner(world)
        assert weights_set(later) == []
        assert EventReason.OWNED_BY_ANOTHER_CANARY not in events(later)
    assert world.canary_weight == 10


def drift_to(world: World, weight: int, *, writer: str = "flagger") -> Decision:
    """Another writer sets the canary weight (a new route generation), then one reconcile."""
    world.canary_weight = weight
    world.route_generation += 1
    world.writer = writer
    return world.tick(passing)


def test_a_one_off_edit_is_put_back_but_a_writer_that_keeps_changing_it_is_held_off() -> None:
    world = started()
    restored = drift_to(world, 40)
    assert weights_set(restored) == [5]
    assert EventReason.WEIGHTS_RESTORED in events(restored)
    world.now += timedelta(seconds=5)
    assert weights_set(drift_to(world, 40)) == [5]
    world.now += timedelta(seconds=5)
    held = drift_to(world, 40)
    assert weights_set(held) == []
    assert held.status.drift is not None and held.status.drift.held_by == "flagger"
    assert condition(held.status, "WeightsInSync") == ("False", "ContestedByFieldManager")
    assert "'flagger' keeps changing the weights" in held.status.message
    assert events(held) == [EventReason.WEIGHTS_CONTESTED]
    # Held: nothing is written, nothing is checked, however long it lasts.
    for _ in range(10):
        quiet = world.checked(passing)
        assert weights_set(quiet) == [] and quiet.events == ()
        assert quiet.status.canary_weight == 5 and quiet.status.last_check_time is None
    # The other writer gives the weights back: the rollout carries on.
    world.canary_weight = 5
    world.route_generation += 1
    resumed = world.tick(passing)
    assert resumed.status.drift is None
    assert condition(resumed.status, "WeightsInSync") == ("True", "InSync")


def test_drift_spread_out_in_time_is_put_back_every_time() -> None:
    world = started(steps={"interval": "1h"})
    for _ in range(5):
        world.now += CONTEST_WINDOW
        assert weights_set(drift_to(world, 40)) == [5]


def test_our_own_write_that_did_not_land_is_applied_again_not_taken_for_drift() -> None:
    world = started(steps={"interval": "1h"})
    decided = world.decide(passing)
    world.now += timedelta(hours=1)
    advanced = world.decide(passing)
    assert weights_set(advanced) == [10]
    world.status = advanced.status  # status written, route write failed (route generation same)
    for _ in range(6):
        world.now += timedelta(seconds=2)
        again = world.decide(passing)
        assert weights_set(again) == [10]
        world.status = again.status
    assert decided is not None and world.status.drift is None


def test_a_retry_takes_the_weights_back_from_a_contested_hold() -> None:
    world = started()
    for _ in range(3):
        world.now += timedelta(seconds=5)
        drift_to(world, 40)
    assert world.status.drift is not None and world.status.drift.held_by
    world.edit(requests={"retry": "take-back"})
    taken = world.tick(passing)
    assert weights_set(taken) == [5]
    assert taken.status.drift is None
    assert EventReason.RETRIED in events(taken)


def test_the_route_weight_is_observed_and_a_finished_route_change_is_reported() -> None:
    world = started(steps={"weights": [50], "interval": "1m"})
    assert world.status.route_weight == 50
    world.checked(passing)
    done = world.tick(passing)
    assert done.status.phase is Phase.SUCCEEDED
    assert done.status.route_weight == 100
    assert condition(done.status, "WeightsInSync") == ("True", "InSync")
    # The route is re-applied from Git: the canary gets 0 % again.
    world.canary_weight = 0
    world.route_generation += 1
    changed = world.tick(passing)
    assert weights_set(changed) == []
    assert changed.status.phase is Phase.SUCCEEDED
    assert changed.status.route_weight == 0
    assert condition(changed.status, "WeightsInSync") == ("False", "RouteChanged")
    in_sync = changed.status.condition("WeightsInSync")
    assert in_sync is not None and "changed after the rollout finished" in in_sync.message
    assert events(changed) == [EventReason.ROUTE_CHANGED]
    assert world.tick(passing).events == ()


def promoted_by_weights() -> World:
    world = started(steps={"weights": [50], "interval": "1m"}, revision="v2")
    world.checked(passing)
    world.tick(passing)
    assert world.status.phase is Phase.SUCCEEDED and world.canary_weight == 100
    return world


def test_a_revision_bump_with_the_same_backends_after_a_weights_promotion_is_refused() -> None:
    world = promoted_by_weights()
    world.edit(revision="v3")
    refused = world.tick(passing)
    assert weights_set(refused) == []
    assert refused.status.phase is Phase.SUCCEEDED
    assert refused.status.revision == "v2"
    assert condition(refused.status, "InvalidSpec") == ("True", "SameBackendsAfterPromotion")
    text = (refused.status.condition("InvalidSpec") or refused.status.conditions[0]).message
    assert "would send 50% back to api-svc-v1:80" in text
    assert "restartFromStable" in text
    assert events(refused) == [EventReason.INVALID_SPEC]
    assert world.canary_weight == 100


def test_the_same_bump_goes_ahead_when_asked_for_or_when_the_canary_backend_changes() -> None:
    world = promoted_by_weights()
    world.edit(revision="v3", promotion={"restartFromStable": True})
    assert weights_set(world.tick(passing)) == [50]
    other = promoted_by_weights()
    other.edit(revision="v3", stable={"name": "api-svc-v2", "port": 80},
               canary={"name": "api-svc-v3", "port": 80})
    assert other.tick(passing).status.phase is not Phase.SUCCEEDED
