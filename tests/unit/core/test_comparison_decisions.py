"""Comparison gates in `decide`: looks between checks every `analysis.sequential.every`, an
immediate rollback on conclusive harm, holding (or passing) on inconclusive evidence at a step's
end, shared incidents, and threshold gates that fail early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from core_world import MINUTE, T0, World, events, make_spec, merged, passing, weights_set

from canary.api import CanarySpec, Phase
from canary.api.conditions import ConditionReason
from canary.core.decide import Sampling, decide, looked_at, sampling_due
from canary.core.decision import Decision, EventReason
from canary.core.observations import (
    ComparisonSample,
    MetricSample,
    Observations,
    SampleOutcome,
)
from canary.core.sequential import Counts

pytestmark = pytest.mark.unit

LOOK = timedelta(seconds=5)
Compared = Callable[[str], ComparisonSample]


def comparison_spec(**extra: Any) -> CanarySpec:
    base: dict[str, Any] = {
        "steps": {"weights": [10, 50], "interval": "1m"},
        "analysis": {
            "metrics": [{"name": "errors", "compare": {"errorRate": {"template": "contour"}}}],
            "failureThreshold": 2,
            "inconclusiveLimit": 3,
        },
    }
    spec = make_spec(**base)
    return CanarySpec.model_validate(merged(spec.to_api(), extra)) if extra else spec


def rates(canary: float, stable: float, *, requests: float = 3000) -> Compared:
    """Both backends' counts since the rollout started: `requests` each, at these error rates."""

    def sample(name: str) -> ComparisonSample:
        return ComparisonSample(
            name, SampleOutcome.VALUE,
            steps=((Counts(requests, canary * requests),
                    Counts(requests * 9, stable * requests * 9)),),
            since=T0, query=f"q({name})",
        )

    return sample


def nothing(name: str) -> ComparisonSample:
    return ComparisonSample(name, SampleOutcome.NO_DATA, since=T0, query=f"q({name})")


def look(world: World, compared: Compared, sample: Callable[[str], MetricSample] = passing
         ) -> Decision:
    """One reconcile at `world.now`, with samples only if `decide` would judge them."""
    due = sampling_due(world.spec, world.status, world.route, world.now)
    observations = Observations(route=world.route)
    if due is not None:
        gates = world.spec.analysis.metrics if world.spec.analysis else ()
        wanted = [g for g in gates if due is Sampling.CHECK or g.name in looked_at(world.spec)]
        observations = Observations(
            route=world.route,
            metrics=tuple(sample(g.name) for g in wanted if g.compare is None),
            comparisons=tuple(compared(g.name) for g in wanted if g.compare is not None),
        )
    decision = decide(world.spec, world.status, observations=observations, now=world.now,
                      generation=world.generation)
    world.apply(decision)
    return decision


def started(spec: CanarySpec | None = None) -> World:
    world = World(spec or comparison_spec())
    world.tick()
    assert world.status.phase is Phase.PROGRESSING
    return world


def test_looks_are_due_every_period_between_checks_and_only_with_sequential_gates() -> None:
    world = started()
    route = world.route
    assert sampling_due(world.spec, world.status, route, T0 + timedelta(seconds=4)) is None
    assert sampling_due(world.spec, world.status, route, T0 + LOOK) is Sampling.LOOK
    assert sampling_due(world.spec, world.status, route, T0 + MINUTE) is Sampling.CHECK
    assert looked_at(world.spec) == frozenset({"errors"})
    thresholds = started(make_spec())
    assert sampling_due(thresholds.spec, thresholds.status, thresholds.route, T0 + LOOK) is None
    assert looked_at(thresholds.spec) == frozenset()


def test_conclusive_harm_at_a_look_rolls_back_at_once_with_the_evidence() -> None:
    world = started()
    world.now = T0 + LOOK
    decision = look(world, rates(0.30, 0.005))
    assert decision.status.phase is Phase.ROLLING_BACK
    assert weights_set(decision) == [0]
    assert "conclusive evidence of harm" in decision.status.message
    result = decision.status.metrics[0]
    assert result.verdict == "Fail" and result.comparison is not None
    assert result.comparison.lower > result.comparison.tolerance == 1.0
    assert result.comparison.canary.requests == 3000
    assert result.comparison.stable.failures == pytest.approx(0.005 * 27000)
    assert EventReason.METRIC_CHECK_FAILED in events(decision)
    assert EventReason.ROLLING_BACK in events(decision)
    ready = next(c for c in decision.status.conditions if c.type == "Ready")
    assert ready.reason == ConditionReason.METRIC_CHECKS_FAILED


def test_a_look_without_harm_records_the_evidence_and_moves_nothing() -> None:
    world = started()
    world.now = T0 + LOOK
    decision = look(world, rates(0.005, 0.005, requests=200))
    assert decision.status.phase is Phase.PROGRESSING
    assert weights_set(decision) == []
    assert decision.status.looked_at == T0 + LOOK
    assert decision.status.metrics[0].comparison is not None
    assert decision.status.last_check_time is None
    assert decision.requeue_after == LOOK
    assert not [e for e in events(decision) if e != EventReason.ROUTE_HINT]


def test_no_data_at_a_look_moves_nothing() -> None:
    world = started()
    world.now = T0 + LOOK
    decision = look(world, nothing)
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.metrics[0].outcome == "NoData"


def test_a_healthy_canary_with_conclusive_evidence_advances_at_the_step_end() -> None:
    world = started()
    world.now = T0 + MINUTE
    decision = look(world, rates(0.005, 0.005, requests=20000))
    assert decision.status.metrics[0].verdict == "Pass"
    assert weights_set(decision) == [50]


def test_inconclusive_at_the_step_end_holds_the_step_by_default() -> None:
    world = started()
    world.now = T0 + MINUTE
    decision = look(world, rates(0.01, 0.005, requests=100))
    assert decision.status.metrics[0].verdict == "Inconclusive"
    # Evidence is accumulating, nothing is broken: the hold does not count towards the limit.
    assert decision.status.inconclusive_checks == 0
    assert weights_set(decision) == []
    assert decision.status.phase is Phase.PROGRESSING
    assert "gather evidence" in decision.status.message


def test_a_held_step_moves_on_at_the_first_look_that_finds_the_evidence_conclusive() -> None:
    world = started()
    world.now = T0 + MINUTE
    look(world, rates(0.01, 0.005, requests=100))
    world.now += LOOK
    still = look(world, rates(0.006, 0.005, requests=500))
    assert weights_set(still) == [] and still.status.metrics[0].verdict == "Inconclusive"
    world.now += LOOK
    moved = look(world, rates(0.005, 0.005, requests=20000))
    assert weights_set(moved) == [50]
    assert EventReason.METRIC_CHECK_PASSED in events(moved)
    assert moved.status.current_step == 2


def test_no_data_at_the_step_end_counts_towards_the_inconclusive_limit() -> None:
    world = started()
    world.now = T0 + MINUTE
    decision = look(world, nothing)
    assert decision.status.inconclusive_checks == 1


def test_on_inconclusive_pass_advances_on_the_absence_of_evidence_of_harm() -> None:
    world = started(comparison_spec(analysis={"metrics": [{
        "name": "errors",
        "compare": {"errorRate": {"template": "contour"}, "onInconclusive": "Pass"},
    }]}))
    world.now = T0 + MINUTE
    decision = look(world, rates(0.01, 0.005, requests=100))
    assert decision.status.metrics[0].verdict == "Pass"
    assert "onInconclusive" in decision.status.metrics[0].message
    assert weights_set(decision) == [50]


def test_a_shared_incident_does_not_roll_the_canary_back() -> None:
    world = started()
    for seconds in range(5, 60, 5):
        world.now = T0 + timedelta(seconds=seconds)
        decision = look(world, rates(0.20, 0.20, requests=400 * seconds))
        assert decision.status.phase is Phase.PROGRESSING, decision.status.message
    world.now = T0 + MINUTE
    decision = look(world, rates(0.20, 0.20, requests=100_000))
    assert decision.status.phase is Phase.PROGRESSING
    assert weights_set(decision) == [50]


def test_harm_found_at_the_step_end_rolls_back_whatever_the_failure_threshold() -> None:
    world = started(comparison_spec(analysis={"failureThreshold": 5}))
    world.now = T0 + MINUTE
    decision = look(world, rates(0.30, 0.005))
    assert decision.status.phase is Phase.ROLLING_BACK
    assert decision.status.failed_checks == 1


def test_a_fail_early_threshold_gate_counts_a_failed_check_at_a_look() -> None:
    spec = make_spec(analysis={
        "metrics": [{"name": "success-rate", "template": "envoy-success-rate", "min": 99,
                     "failEarly": True}],
        "failureThreshold": 2,
    })
    world = started(spec)
    world.now = T0 + LOOK

    def failing(name: str) -> MetricSample:
        return MetricSample.of(name, 50.0, query=f"q({name})")

    first = look(world, nothing, failing)
    assert first.status.failed_checks == 1 and first.status.phase is Phase.PROGRESSING
    world.now += LOOK
    second = look(world, nothing, failing)
    assert second.status.phase is Phase.ROLLING_BACK
    assert world.now - T0 == 2 * LOOK


def test_a_paused_canary_is_not_looked_at() -> None:
    world = started()
    world.edit(paused=True)
    world.tick()
    assert sampling_due(world.spec, world.status, world.route, T0 + LOOK) is None


def test_each_step_records_when_it_began_so_comparisons_can_go_step_by_step() -> None:
    world = started()
    assert list(world.status.step_starts) == [T0]
    world.now = T0 + MINUTE
    look(world, rates(0.005, 0.005, requests=20000))
    assert list(world.status.step_starts) == [T0, T0 + MINUTE]
    world.edit(revision="v3")
    world.now += MINUTE
    world.tick()
    assert list(world.status.step_starts) == [world.now]


def test_looks_that_change_no_verdict_write_the_evidence_only_every_30_seconds() -> None:
    world = started()
    world.now = T0 + LOOK
    first = look(world, rates(0.006, 0.005, requests=200))
    assert first.status.looked_at == T0 + LOOK
    written = [first.status]
    for seconds in range(10, 60, 5):
        world.now = T0 + timedelta(seconds=seconds)
        decision = look(world, rates(0.006, 0.005, requests=200 + seconds))
        assert decision.requeue_after == LOOK
        if decision.status != written[-1]:
            written.append(decision.status)
    assert [s.looked_at for s in written] == [T0 + LOOK, T0 + timedelta(seconds=35)]
