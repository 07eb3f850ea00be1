"""Properties of decide() that must hold for every spec and every history: checked on random
walks of reconciles (time jumps, spurious wakeups, metrics passing, failing, silent or erroring,
route drift and detachment, manual requests), each with at least 1,000 examples."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from functools import partial

import pytest
from core_strategies import Move, moves, sample_of, specs, walk
from core_world import World, passing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canary.api import CanarySpec, CanaryStatus, MetricVerdict, Phase
from canary.api.control import RequestKind
from canary.core import weights
from canary.core.decide import decide, needs_metrics
from canary.core.decision import SetWeights
from canary.core.observations import MetricSample, Observations
from canary.core.requests import pending
from canary.core.timing import check_due_at, pause_ends_at

pytestmark = pytest.mark.unit

THOROUGH = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
plans = st.lists(moves, min_size=1, max_size=15)


@THOROUGH
@given(spec=specs(), plan=plans)
def test_every_weight_is_an_integer_percent_and_stable_plus_canary_is_100(
    spec: CanarySpec, plan: list[Move]
) -> None:
    for step in walk(World(spec), plan):
        status = step.decision.status
        assert 0 <= status.canary_weight <= 100
        assert status.canary_weight + status.stable_weight == 100
        for change in step.decision.weight_changes:
            assert isinstance(change.canary, int) and 0 <= change.canary <= 100
            assert change.stable + change.canary == 100


@THOROUGH
@given(spec=specs(), plan=plans)
def test_the_canary_weight_never_exceeds_the_declared_maximum_before_promotion(
    spec: CanarySpec, plan: list[Move]
) -> None:
    ceiling = weights.max_weight(spec.steps)
    for step in walk(World(spec), plan):
        status = step.decision.status
        if status.phase not in (Phase.PROMOTING, Phase.SUCCEEDED):
            assert status.canary_weight <= ceiling
            assert all(c.canary <= ceiling for c in step.decision.weight_changes)


@THOROUGH
@given(spec=specs(), plan=plans)
def test_an_unfinished_rollout_always_schedules_its_next_look(
    spec: CanarySpec, plan: list[Move]
) -> None:
    for step in walk(World(spec), plan):
        status = step.decision.status
        pause = spec.steps.pause_at(status.canary_weight) if status.paused_at else None
        waits_for_a_person = step.paused or (
            pause is not None and pause.until_promoted and not spec.analysis
        )
        if status.phase.active and not waits_for_a_person:
            assert step.decision.requeue_after is not None


@THOROUGH
@given(spec=specs(), plan=plans)
def test_weights_never_go_backwards_within_a_rollout_except_by_rolling_back(
    spec: CanarySpec, plan: list[Move]
) -> None:
    for step in walk(World(spec), plan):
        before, after = step.before, step.decision.status
        same_rollout = before.started_at is not None and after.started_at == before.started_at
        if same_rollout and after.phase not in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
            assert after.canary_weight >= before.canary_weight


@THOROUGH
@given(spec=specs(), plan=st.lists(moves, min_size=1, max_size=25))
def test_no_lost_write_restart_or_drift_ever_gives_traffic_back_to_a_rolled_back_canary(
    spec: CanarySpec, plan: list[Move]
) -> None:
    """Once a rollback is recorded in the status, every later decision of that rollout writes
    the canary 0 % or nothing, whatever was lost, drifted or requested (but retry)."""
    decided: datetime | None = None  # started_at of the rollout whose rollback is recorded
    for step in walk(World(spec), plan):
        before, after = step.before, step.decision.status
        if decided is not None and before.started_at == decided and after.started_at == decided:
            assert all(c.canary == 0 for c in step.decision.weight_changes), step.decision
            assert after.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
        persisted = step.lost != "status"
        if persisted and after.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
            decided = after.started_at


@THOROUGH
@given(spec=specs(with_requests_guard=False), kinds=st.lists(
    st.sampled_from(["pass", "fail"]), min_size=1, max_size=30))
def test_rollback_happens_after_exactly_failure_threshold_failed_checks(
    spec: CanarySpec, kinds: list[str]
) -> None:
    assert spec.analysis is not None
    threshold = spec.analysis.failure_threshold
    world = World(spec)
    world.tick()
    failures = 0
    for kind in kinds:
        world.now = max(world.now, _next_check(world))
        before = world.status
        decision = world.tick(partial(sample_of, kind))
        checked = decision.status.last_check_time == world.now and before.phase in (
            Phase.PROGRESSING, Phase.PAUSED)
        if checked and kind == "fail":
            failures += 1
        if before.phase is Phase.ROLLED_BACK:
            break
        if before.phase is Phase.ROLLING_BACK:
            assert decision.status.phase is Phase.ROLLED_BACK
            break
        rolled_back = decision.status.phase is Phase.ROLLING_BACK
        assert rolled_back == (failures == threshold and checked and kind == "fail")
        assert decision.status.failed_checks == failures
        if decision.status.phase is Phase.PROMOTING:
            break


def _next_check(world: World) -> datetime:
    due = check_due_at(world.spec, world.status) or world.now
    ends = pause_ends_at(world.spec, world.status)
    return min(due, ends) if ends is not None else due


@THOROUGH
@given(spec=specs(with_requests_guard=False), checks=st.integers(1, 12))
def test_no_data_counts_exactly_as_the_declared_policy_says(spec: CanarySpec, checks: int) -> None:
    assert spec.analysis is not None
    gate_policies = {g.on_no_data for g in spec.analysis.metrics}
    world = World(spec)
    world.tick()
    for _ in range(checks):
        if not world.status.phase.active or world.status.phase is Phase.PROMOTING:
            break
        world.now = max(world.now, _next_check(world))
        before = world.status
        decision = world.tick(lambda name: MetricSample.no_data(name))
        if decision.status.last_check_time != world.now:
            continue  # a timed pause ended instead
        verdicts = {r.verdict for r in decision.status.metrics}
        assert all(r.outcome == "NoData" for r in decision.status.metrics)
        assert verdicts == {MetricVerdict(p.value) for p in gate_policies}
        status = decision.status
        if "Fail" in gate_policies:
            assert status.failed_checks == before.failed_checks + 1
        elif "Inconclusive" in gate_policies:
            limit = spec.analysis.inconclusive_limit
            escalated = limit > 0 and before.inconclusive_checks + 1 >= limit
            assert status.failed_checks == before.failed_checks + (1 if escalated else 0)
            expected = 0 if escalated else before.inconclusive_checks + 1
            assert status.inconclusive_checks == expected
        else:
            assert status.failed_checks == before.failed_checks
            assert status.inconclusive_checks == 0
            moved = status.canary_weight > before.canary_weight or status.phase in (
                Phase.PAUSED, Phase.PROMOTING)
            assert moved or before.phase is Phase.PAUSED, "a passing check must move on"


@THOROUGH
@given(spec=specs(), history=plans, afterwards=plans)
def test_a_paused_canary_never_advances(
    spec: CanarySpec, history: list[Move], afterwards: list[Move]
) -> None:
    world = World(spec)
    walk(world, history)
    world.edit(paused=True)
    frozen = world.status
    # An abort from the history whose status write was lost is still pending: it acts (only
    # abort does while paused), and so does a rollback decided before the pause.
    rolling_back = frozen.phase is Phase.ROLLING_BACK or RequestKind.ABORT in pending(
        world.spec, frozen)
    for step in walk(world, [_without_abort(m) for m in afterwards]):
        status = step.decision.status
        if rolling_back:  # a decided rollback is finished regardless; nothing else moves
            assert all(c.canary == 0 for c in step.decision.weight_changes)
            assert (status.current_step, status.revision) == (frozen.current_step, frozen.revision)
            assert status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK, frozen.phase)
            continue
        assert step.decision.weight_changes == ()
        assert (status.canary_weight, status.current_step) == (
            frozen.canary_weight, frozen.current_step)
        assert status.revision == frozen.revision
        assert status.phase in (Phase.PAUSED, frozen.phase)
        assert not step.asked_for_metrics


def _without_abort(move: Move) -> Move:
    return Move(move.wait, move.seconds, move.sample, move.traffic,
                None if move.request == "abort" else move.request, move.drift, move.detach,
                move.lost)


@THOROUGH
@given(spec=specs(), plan=plans, sample=st.sampled_from(["pass", "fail", "no-data", "error"]),
       late=st.integers(0, 600))
def test_deciding_twice_on_the_same_inputs_gives_the_same_decision(
    spec: CanarySpec, plan: list[Move], sample: str, late: int
) -> None:
    world = World(spec)
    walk(world, plan)
    now = world.now + timedelta(seconds=late)
    observed = Observations(
        route=world.route,
        metrics=tuple(sample_of(sample, g.name) for g in spec.analysis.metrics)
        if spec.analysis else (),
        request_count=MetricSample.of("requests", 50),
    )
    first = decide(spec, world.status, observations=observed, now=now, generation=7)
    again = decide(spec, world.status, observations=observed, now=now, generation=7)
    assert first == again


@THOROUGH
@given(spec=specs(), plan=plans)
def test_once_a_decision_is_carried_out_deciding_again_at_once_changes_nothing_more(
    spec: CanarySpec, plan: list[Move]
) -> None:
    world = World(spec)
    walk(world, plan)
    world.tick()
    for _ in range(2):  # Promoting becomes Succeeded once the route shows 100 %
        decision = world.tick()
    settled = world.tick()
    assert settled.weight_changes == ()
    assert settled.status == decision.status


@THOROUGH
@given(spec=specs(), plan=plans)
def test_metrics_are_asked_for_whenever_decide_runs_a_check(
    spec: CanarySpec, plan: list[Move]
) -> None:
    for step in walk(World(spec), plan):
        after = step.decision.status
        checked = after.last_check_time is not None and after.last_check_time != (
            step.before.last_check_time) and after.revision == step.before.revision
        if checked:
            assert step.asked_for_metrics


@THOROUGH
@given(spec=specs(with_requests_guard=False), wakeups=st.lists(st.integers(0, 400), max_size=60))
def test_restarts_and_spurious_wakeups_neither_repeat_nor_skip_a_step(
    spec: CanarySpec, wakeups: list[int]
) -> None:
    timed = tuple(p for p in spec.steps.pauses if not p.until_promoted)
    spec = spec.model_copy(update={"steps": spec.steps.model_copy(update={"pauses": timed})})
    world = World(spec)
    applied: list[tuple[int, datetime]] = []
    spurious = iter(wakeups)
    for _ in range(400):
        # A restarted operator knows only what the API server stored: round-trip the status.
        world.status = CanaryStatus.model_validate(world.status.to_api())
        decision = world.tick(passing)
        applied += [(c.canary, world.now) for c in decision.weight_changes]
        if decision.requeue_after is None:
            break
        extra = next(spurious, None)
        pause_or_check = decision.requeue_after
        world.now += timedelta(seconds=extra) if extra is not None and timedelta(
            seconds=extra) < pause_or_check else pause_or_check
    assert world.status.phase is Phase.SUCCEEDED
    assert [w for w, _ in applied] == [*weights.schedule(spec.steps), 100]
    interval = spec.steps.interval_length
    for (_, earlier), (_, later) in itertools.pairwise(applied):
        assert later - earlier >= interval


def test_needs_metrics_is_false_for_a_canary_without_gates() -> None:
    spec = CanarySpec.model_validate({
        "routeRef": {"name": "r"}, "stable": {"name": "a", "port": 1},
        "canary": {"name": "b", "port": 1}, "steps": {"weights": [50]},
    })
    world = World(spec)
    world.tick()
    world.now += timedelta(hours=1)
    assert not needs_metrics(spec, world.status, world.route, world.now)
    assert [c.canary for c in world.tick().weight_changes] == [100]


def test_set_weights_refuses_a_weight_outside_0_to_100() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.100"):
        SetWeights(101)
