"""Every transition of decide(), one scenario each: given a spec, a status and what was
observed, the phase, the weights, the actions and the conditions that must follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_world import (
    MINUTE,
    NOT_ALLOWED,
    T0,
    World,
    condition,
    erroring,
    events,
    failing,
    make_spec,
    no_data,
    passing,
    route_at,
    run_until_settled,
    started,
    weights_set,
)

from canary.api import CanaryStatus, Phase
from canary.api.conditions import ConditionReason
from canary.core.decide import decide, reject_spec
from canary.core.decision import Decision, EmitEvent, EventReason, RewriteRoute
from canary.core.observations import MetricSample, Observations, RouteIssue, RouteProblem
from canary.core.transitions import ROLLBACK_RECHECK

pytestmark = pytest.mark.unit


def reject(world: World) -> Decision:
    """The world's Canary naming a route kind no router drives, as the reconciler rejects it
    (from the router registry, before `decide`): `reject_spec`, carried out."""
    decision = reject_spec(
        world.status, problem="routeRef.kind GRPCRoute is not supported", now=world.now,
        generation=world.generation, why=ConditionReason.UNSUPPORTED_ROUTE_KIND,
    )
    world.apply(decision)
    return decision


# --- starting -------------------------------------------------------------------------------


def test_a_new_canary_with_an_accepted_route_starts_at_the_first_step() -> None:
    world = World(make_spec())
    decision = world.tick()
    assert decision.status.phase is Phase.PROGRESSING
    assert weights_set(decision) == [5]
    assert (decision.status.canary_weight, decision.status.stable_weight) == (5, 95)
    assert (decision.status.current_step, decision.status.total_steps) == (1, 4)
    assert decision.status.step_started_at == T0
    assert decision.status.revision == "api-svc-v2:80"
    assert EventReason.ROLLOUT_STARTED in events(decision)
    assert decision.requeue_after == MINUTE
    assert condition(decision.status, "Progressing") == ("True", "RolloutInProgress")
    assert condition(decision.status, "Ready") == ("Unknown", "RolloutInProgress")


def test_a_new_canary_whose_route_is_missing_stays_pending_and_says_so() -> None:
    decision = decide(
        make_spec(), CanaryStatus(), observations=Observations(route=route_at(0, exists=False)),
        now=T0, generation=1,
    )
    assert decision.status.phase is Phase.PENDING
    assert weights_set(decision) == []
    assert condition(decision.status, "RouteAccepted") == ("False", "RouteNotFound")
    assert "api-route" in decision.status.message
    assert EventReason.ROUTE_NOT_ACCEPTED in events(decision)


def test_a_route_not_accepted_by_its_gateway_holds_with_the_issue_reason_and_message() -> None:
    world = World(make_spec(), issues=(NOT_ALLOWED,))
    decision = world.tick()
    assert decision.status.phase is Phase.PENDING
    assert weights_set(decision) == []
    status, reason = condition(decision.status, "RouteAccepted")
    assert (status, reason) == ("False", "NotAllowedByListeners")
    message = decision.status.condition("RouteAccepted").message  # type: ignore[union-attr]
    assert "allowedRoutes" in message
    assert decision.requeue_after == timedelta(seconds=15)


# --- steps and checks -----------------------------------------------------------------------


def test_before_the_interval_has_elapsed_nothing_changes_and_the_wait_is_the_remainder() -> None:
    world = started()
    world.now = T0 + timedelta(seconds=20)
    decision = world.tick(passing)
    assert decision.actions == ()
    assert decision.status.canary_weight == 5
    assert decision.requeue_after == timedelta(seconds=40)


def test_a_passing_check_after_the_interval_advances_to_the_next_weight() -> None:
    world = started()
    world.now = T0 + MINUTE
    decision = world.tick(passing)
    assert weights_set(decision) == [10]
    assert decision.status.current_step == 2
    assert decision.status.step_started_at == T0 + MINUTE
    assert decision.status.metrics[0].verdict == "Pass"
    assert decision.status.metrics[0].query == "q(success-rate)"
    assert events(decision)[:1] == [EventReason.METRIC_CHECK_PASSED]
    assert EventReason.STEP_ADVANCED in events(decision)


def test_a_passing_check_at_the_last_step_promotes_then_the_route_at_100_succeeds() -> None:
    world = World(make_spec(steps={"stepWeight": 10, "maxWeight": 10}))
    world.tick()
    promoting = world.checked(passing)
    assert promoting.status.phase is Phase.PROMOTING
    assert weights_set(promoting) == [100]
    assert EventReason.PROMOTING in events(promoting)
    done = world.tick()
    assert done.status.phase is Phase.SUCCEEDED
    assert done.actions == (EmitEvent("Normal", EventReason.PROMOTED, done.status.message),)
    assert condition(done.status, "Promoted") == ("True", "Promoted")
    assert condition(done.status, "Ready") == ("True", "Promoted")
    assert done.requeue_after is None


def test_promotion_in_rewrite_mode_rewrites_the_route_once_it_carries_100() -> None:
    world = World(make_spec(steps={"weights": [50]}, promotion={"mode": "Rewrite"}))
    run_until_settled(world, passing)
    assert world.status.phase is Phase.SUCCEEDED
    assert world.rewritten
    rewrites = [d for d in world.history if any(isinstance(a, RewriteRoute) for a in d.actions)]
    assert len(rewrites) == 1


def test_promoting_reapplies_100_while_the_route_does_not_show_it() -> None:
    world = World(make_spec(steps={"weights": [50]}))
    world.tick()
    world.checked(passing)
    world.canary_weight = 50  # the write did not land (yet)
    decision = world.tick()
    assert decision.status.phase is Phase.PROMOTING
    assert weights_set(decision) == [100]
    assert events(decision) == []  # announced once, not on every retry


def test_a_failed_check_below_the_threshold_counts_and_holds_the_step() -> None:
    world = started()
    decision = world.checked(failing)
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.failed_checks == 1
    assert weights_set(decision) == []
    assert decision.status.metrics[0].verdict == "Fail"
    assert decision.status.metrics[0].value == 50.0
    assert "below min 99" in decision.status.metrics[0].message
    failed = [a for a in decision.actions if isinstance(a, EmitEvent)][-1]
    assert (failed.type, failed.reason) == ("Warning", EventReason.METRIC_CHECK_FAILED)
    assert "50 is below min 99" in failed.message
    assert decision.requeue_after == MINUTE


def test_the_failed_check_that_reaches_the_threshold_rolls_back_to_stable_at_once() -> None:
    world = started()
    decision = world.checked(failing, failing)
    # The decision is recorded first (RollingBack), with the weight write in the same pass.
    assert decision.status.phase is Phase.ROLLING_BACK
    assert weights_set(decision) == [0]
    assert (decision.status.canary_weight, decision.status.stable_weight) == (0, 100)
    assert decision.status.failed_checks == 2
    assert condition(decision.status, "RolledBack") == ("False", "MetricChecksFailed")
    assert condition(decision.status, "Ready") == ("Unknown", "MetricChecksFailed")
    assert EventReason.ROLLING_BACK in events(decision)
    assert decision.requeue_after == ROLLBACK_RECHECK
    # RolledBack once the route shows it (the world applied the write).
    confirmed = world.tick(failing)
    assert confirmed.status.phase is Phase.ROLLED_BACK
    assert weights_set(confirmed) == []
    assert confirmed.status.failed_checks == 2
    assert condition(confirmed.status, "RolledBack") == ("True", "MetricChecksFailed")
    assert condition(confirmed.status, "Ready") == ("False", "MetricChecksFailed")
    assert events(confirmed) == [EventReason.ROLLED_BACK]
    assert "failureThreshold 2" in confirmed.status.message
    assert confirmed.requeue_after is None


def rolling_back_with_the_route_write_lost() -> World:
    """A world whose second failed check decided the rollback: the RollingBack status write
    landed, the route write did not (the route still carries the first step's 5 %)."""
    world = started()
    world.checked(failing)
    world.now += MINUTE
    world.status = world.decide(failing).status
    return world


def test_a_rollback_whose_route_write_was_lost_writes_zero_again_and_nothing_else() -> None:
    """A crash (or a failed route write) right after the RollingBack status write: every later
    pass, whatever the route shows and whatever time it is, only ever writes 0 %."""
    world = rolling_back_with_the_route_write_lost()
    assert world.canary_weight == 5
    for drifted, later in ((5, 0), (40, 1), (5, 120)):
        world.canary_weight = drifted
        world.now += timedelta(seconds=later)
        again = world.decide(failing)
        assert weights_set(again) == [0]
        assert again.status.phase is Phase.ROLLING_BACK
        assert again.status.canary_weight == 0
        assert again.events == ()
    world.canary_weight = 0
    done = world.tick(passing)
    assert done.status.phase is Phase.ROLLED_BACK
    assert weights_set(done) == []


def test_a_rollback_is_finished_even_when_the_canary_is_paused_meanwhile() -> None:
    world = rolling_back_with_the_route_write_lost()
    world.edit(paused=True)
    decision = world.tick()
    assert weights_set(decision) == [0]
    assert world.tick().status.phase is Phase.ROLLED_BACK


def test_a_rolled_back_canary_stays_rolled_back_through_an_invalid_spec_and_its_fix() -> None:
    """An invalid spec is reported on a finished rollout but does not replace its phase: fixing
    the spec must not resume steps on the canary that failed."""
    world = started()
    world.checked(failing, failing)
    world.tick()
    assert world.status.phase is Phase.ROLLED_BACK
    invalid = reject(world)
    assert invalid.status.phase is Phase.ROLLED_BACK
    assert condition(invalid.status, "InvalidSpec") == ("True", "UnsupportedRouteKind")
    world.generation += 1  # the spec is fixed
    world.now += timedelta(hours=1)
    fixed = world.tick(passing)
    assert fixed.status.phase is Phase.ROLLED_BACK
    assert weights_set(fixed) == []
    assert world.canary_weight == 0
    assert condition(fixed.status, "InvalidSpec") == ("False", "SpecValid")


def test_failed_checks_are_not_forgiven_by_later_passing_checks() -> None:
    world = started()
    decision = world.checked(failing, passing, failing)
    assert decision.status.phase is Phase.ROLLING_BACK


def test_no_data_with_the_inconclusive_policy_holds_and_counts_inconclusive() -> None:
    world = started()
    decision = world.checked(no_data)
    assert decision.status.phase is Phase.PROGRESSING
    assert (decision.status.failed_checks, decision.status.inconclusive_checks) == (0, 1)
    assert decision.status.metrics[0].outcome == "NoData"
    assert decision.status.metrics[0].verdict == "Inconclusive"
    assert EventReason.METRIC_NO_DATA in events(decision)
    assert EventReason.METRIC_CHECK_INCONCLUSIVE in events(decision)


def test_inconclusive_checks_at_the_limit_count_as_one_failed_check_and_restart_counting() -> None:
    world = started()
    decision = world.checked(no_data, no_data, no_data)
    assert (decision.status.failed_checks, decision.status.inconclusive_checks) == (1, 0)
    assert decision.status.phase is Phase.PROGRESSING


def test_a_conclusive_check_resets_the_inconclusive_count() -> None:
    world = started(steps={"weights": [5, 10, 20]})
    decision = world.checked(no_data, passing)
    assert decision.status.inconclusive_checks == 0
    assert decision.status.canary_weight == 10


def test_no_data_with_the_fail_policy_counts_a_failed_check() -> None:
    metrics = [{"name": "success-rate", "template": "envoy-success-rate", "min": 99,
                "onNoData": "Fail"}]
    world = started(analysis={"metrics": metrics})
    decision = world.checked(no_data)
    assert decision.status.failed_checks == 1
    assert decision.status.metrics[0].verdict == "Fail"


def test_no_data_with_the_pass_policy_lets_the_step_pass() -> None:
    metrics = [{"name": "success-rate", "template": "envoy-success-rate", "min": 99,
                "onNoData": "Pass"}]
    world = started(analysis={"metrics": metrics})
    decision = world.checked(no_data)
    assert weights_set(decision) == [10]


def test_a_query_error_is_reported_as_an_error_not_as_no_data() -> None:
    world = started()
    decision = world.checked(erroring)
    result = decision.status.metrics[0]
    assert (result.outcome, result.verdict) == ("Error", "Inconclusive")
    assert "connection refused" in result.message
    assert EventReason.METRIC_ERROR in events(decision)
    assert EventReason.METRIC_NO_DATA not in events(decision)


def test_too_little_traffic_makes_the_check_inconclusive_whatever_the_metrics_say() -> None:
    guard = {"count": 100, "template": "envoy-request-count"}
    world = started(analysis={"minRequests": guard})
    world.now += MINUTE
    decision = world.tick(failing, requests=MetricSample.of("requests", 12))
    assert (decision.status.failed_checks, decision.status.inconclusive_checks) == (0, 1)
    assert decision.status.metrics[0].verdict == "Inconclusive"
    assert decision.status.request_count is not None
    assert decision.status.request_count.value == 12
    assert EventReason.NOT_ENOUGH_TRAFFIC in events(decision)


def test_enough_traffic_lets_the_metrics_be_judged() -> None:
    guard = {"count": 100, "template": "envoy-request-count"}
    world = started(analysis={"minRequests": guard})
    world.now += MINUTE
    decision = world.tick(failing, requests=MetricSample.of("requests", 500))
    assert decision.status.failed_checks == 1


def test_without_analysis_steps_advance_on_time_alone() -> None:
    world = World(make_spec(analysis=None))
    world.spec = world.spec.model_copy(update={"analysis": None})
    world.tick()
    world.now += MINUTE
    decision = world.tick()
    assert weights_set(decision) == [10]
    assert decision.status.metrics == ()


# --- pauses ---------------------------------------------------------------------------------


def test_a_step_with_a_manual_pause_waits_for_promotion_after_its_check_passes() -> None:
    world = started(steps={"pauses": [{"atWeight": 5}]})
    decision = world.checked(passing)
    assert decision.status.phase is Phase.PAUSED
    assert decision.status.paused_at == world.now
    assert weights_set(decision) == []
    assert condition(decision.status, "Paused") == ("True", "AwaitingPromotion")
    assert "spec.requests.promote" in decision.status.message
    world.now += timedelta(hours=5)
    later = world.tick(passing)
    assert later.status.canary_weight == 5
    assert later.status.phase is Phase.PAUSED


def test_checks_keep_running_in_a_pause_and_can_roll_back() -> None:
    world = started(steps={"pauses": [{"atWeight": 5}]})
    world.checked(passing)
    decision = world.checked(failing, failing)
    assert decision.status.phase is Phase.ROLLING_BACK


def test_a_timed_pause_ends_after_its_duration_and_the_rollout_advances() -> None:
    world = started(steps={"pauses": [{"atWeight": 5, "duration": "10m"}]})
    paused = world.checked(passing)
    assert condition(paused.status, "Paused") == ("True", "PauseStep")
    world.now += timedelta(minutes=9, seconds=59)
    assert world.tick(passing).status.phase is Phase.PAUSED
    world.now += timedelta(seconds=1)
    decision = world.tick(passing)
    assert weights_set(decision) == [10]
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.paused_at is None


def test_a_timed_pause_shorter_than_the_interval_wakes_up_when_it_ends() -> None:
    world = started(steps={"interval": "5m", "pauses": [{"atWeight": 5, "duration": "30s"}]})
    world.now += timedelta(minutes=5)
    paused = world.tick(passing)
    assert paused.requeue_after == timedelta(seconds=30)
    world.now += timedelta(seconds=30)
    assert weights_set(world.tick()) == [10]


def test_a_pause_removed_from_the_spec_ends() -> None:
    world = started(steps={"pauses": [{"atWeight": 5}]})
    world.checked(passing)
    world.edit(steps={"pauses": []})
    decision = world.tick()
    assert weights_set(decision) == [10]


# --- the route ------------------------------------------------------------------------------


def test_a_weight_changed_on_the_route_by_hand_is_restored_and_the_step_restarts() -> None:
    world = started()
    world.now += timedelta(seconds=30)
    world.canary_weight = 40
    decision = world.tick(passing)
    assert weights_set(decision) == [5]
    assert decision.status.step_started_at == world.now
    assert EventReason.WEIGHTS_RESTORED in events(decision)


def test_a_route_that_loses_acceptance_mid_rollout_holds_the_weights() -> None:
    world = started()
    world.issues = (RouteIssue(RouteProblem.REFS_NOT_RESOLVED, "BackendNotFound",
                               "Service api-svc-v2 not found: create it"),)
    decision = world.checked(passing)
    assert weights_set(decision) == []
    assert decision.status.canary_weight == 5
    assert decision.status.phase is Phase.PROGRESSING
    assert condition(decision.status, "RouteAccepted") == ("False", "BackendNotFound")
    assert EventReason.ROUTE_NOT_ACCEPTED in events(decision)
    again = world.tick(passing)
    assert EventReason.ROUTE_NOT_ACCEPTED not in events(again)


def test_a_route_accepted_again_is_announced_and_the_rollout_continues() -> None:
    world = started()
    world.issues = (NOT_ALLOWED,)
    world.tick()
    world.issues = ()
    decision = world.checked(passing)
    assert EventReason.ROUTE_ACCEPTED in events(decision)
    assert weights_set(decision) == [10]


# --- revisions, invalid specs, terminal phases ----------------------------------------------


def test_a_new_revision_mid_rollout_restarts_from_the_first_step_with_counters_cleared() -> None:
    world = started()
    world.checked(passing, failing)
    world.edit(revision="v3")
    decision = world.tick()
    assert decision.status.revision == "v3"
    assert weights_set(decision) == [5]
    assert (decision.status.failed_checks, decision.status.current_step) == (0, 1)
    assert decision.status.metrics == ()


def test_a_new_canary_backend_after_success_starts_a_new_rollout_and_clears_promoted() -> None:
    world = World(make_spec(steps={"weights": [50]}))
    run_until_settled(world, passing)
    world.edit(stable={"name": "api-svc-v2"}, canary={"name": "api-svc-v3"})
    world.canary_weight = 0  # the pipeline pointed the route at v2 (stable) and v3 (canary)
    decision = world.tick()
    assert decision.status.revision == "api-svc-v3:80"
    assert decision.status.phase is Phase.PROGRESSING
    assert condition(decision.status, "Promoted") == ("False", "RolloutInProgress")


def test_a_failed_canary_resumes_where_it_stood_once_the_spec_is_fixed() -> None:
    world = started()
    assert reject(world).status.phase is Phase.FAILED
    world.generation += 1  # the spec is fixed
    world.now += timedelta(seconds=5)
    decision = world.tick()
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.canary_weight == 5
    assert decision.status.step_started_at == world.now
    assert condition(decision.status, "InvalidSpec") == ("False", "SpecValid")


def test_a_spec_that_does_not_parse_fails_with_the_problem_in_the_condition() -> None:
    decision = reject_spec(CanaryStatus(), problem="steps: field required", now=T0, generation=3)
    assert decision.status.phase is Phase.FAILED
    assert decision.status.observed_generation == 3
    assert condition(decision.status, "InvalidSpec") == ("True", "SpecRejected")
    assert "steps: field required" in decision.status.message
    assert events(decision) == [EventReason.INVALID_SPEC]
    assert weights_set(decision) == []


def test_a_finished_rollout_does_nothing_and_schedules_nothing() -> None:
    world = started()
    world.checked(failing, failing)
    world.tick()  # RolledBack once the route shows 0 %
    world.now += timedelta(hours=1)
    decision = world.tick(failing)
    assert decision.actions == ()
    assert decision.requeue_after is None
    assert decision.status.phase is Phase.ROLLED_BACK


def test_a_rolled_back_canary_keeps_the_canary_backend_at_zero() -> None:
    """A second line of defence: traffic put back on the canary by hand after the rollback is
    taken off it again."""
    world = started()
    world.checked(failing, failing)
    world.tick()
    world.canary_weight = 30
    world.now += timedelta(hours=1)
    decision = world.tick(failing)
    assert weights_set(decision) == [0]
    assert events(decision) == [EventReason.WEIGHTS_RESTORED]
    assert decision.status.phase is Phase.ROLLED_BACK
    assert decision.requeue_after is None


def test_the_status_records_the_generation_it_was_computed_from() -> None:
    world = started()
    world.edit(analysis={"failureThreshold": 3})
    decision = world.tick()
    assert decision.status.observed_generation == 2
    assert all(c.observed_generation == 2 for c in decision.status.conditions)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(make_spec(), CanaryStatus(), observations=Observations(route=route_at(0)),
               now=T0.replace(tzinfo=None), generation=1)


def test_after_a_rewrite_promotion_the_missing_stable_backend_is_not_a_route_problem() -> None:
    world = World(make_spec(steps={"weights": [50]}, promotion={"mode": "Rewrite"}))
    run_until_settled(world, passing)
    gone = RouteIssue(RouteProblem.BACKENDS_NOT_IN_ROUTE, "", "api-svc-v1 is not in api-route")
    world.issues = (gone,)
    decision = world.tick()
    assert condition(decision.status, "RouteAccepted") == ("True", "Accepted")
    assert decision.actions == ()


def test_a_gateway_catching_up_with_our_weight_write_is_a_quiet_short_hold() -> None:
    world = started()
    before = world.status
    outdated = RouteIssue(RouteProblem.NO_PARENT_STATUS, "StatusOutdated",
                          "the gateway has not processed generation 2 yet")
    world.issues = (outdated,)
    decision = world.tick()
    assert decision.actions == ()
    assert decision.requeue_after == timedelta(seconds=1)
    assert condition(decision.status, "RouteAccepted") == ("True", "Accepted")
    assert decision.status == before


def test_an_outdated_status_on_a_route_never_accepted_is_reported() -> None:
    world = World(make_spec())
    outdated = RouteIssue(RouteProblem.NO_PARENT_STATUS, "StatusOutdated",
                          "the gateway has not processed generation 2 yet")
    world.issues = (outdated,)
    decision = world.tick()
    assert weights_set(decision) == []
    assert condition(decision.status, "RouteAccepted")[0] == "False"


def test_quiet_passes_between_checks_leave_the_status_untouched() -> None:
    world = started()
    after_start = world.status
    for seconds in (1, 10, 30):
        world.now += timedelta(seconds=seconds)
        decision = world.tick()
        assert decision.actions == ()
        assert decision.status == after_start, "a quiet pass must not cost a status write"
