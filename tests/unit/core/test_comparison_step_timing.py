"""A look ends a step early only when that step's own check held it for evidence: a step that
was just entered by a passing check is not "held", and keeps its full interval however
conclusive the comparison already is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from core_world import MINUTE, T0, World, make_spec

from canary.api import Phase
from canary.core.decide import Sampling, decide, looked_at, sampling_due
from canary.core.decision import Decision
from canary.core.observations import ComparisonSample, Observations, SampleOutcome
from canary.core.sequential import Counts

pytestmark = pytest.mark.unit

LOOK = timedelta(seconds=5)


def healthy(name: str) -> ComparisonSample:
    """Conclusively within the tolerance: 0.5 % errors on both sides, 20,000 requests each."""
    return ComparisonSample(
        name, SampleOutcome.VALUE, steps=((Counts(20000, 100), Counts(20000, 100)),),
        since=T0, query=f"q({name})",
    )


def few(name: str) -> ComparisonSample:
    """Not conclusive either way: 0.5 % errors on both sides, 100 requests each."""
    return ComparisonSample(
        name, SampleOutcome.VALUE, steps=((Counts(100, 0.5), Counts(100, 0.5)),),
        since=T0, query=f"q({name})",
    )


def world() -> World:
    gate = {"name": "errors", "compare": {"errorRate": {"template": "contour"}}}
    started = World(make_spec(
        steps={"weights": [10, 30, 60], "interval": "1m"},
        analysis={"metrics": [gate], "sequential": {"every": "5s"}},
    ))
    started.tick()
    assert started.status.phase is Phase.PROGRESSING
    return started


def reconcile(at: World, sample: Callable[[str], ComparisonSample]) -> Decision:
    due = sampling_due(at.spec, at.status, at.route, at.now)
    gates = at.spec.analysis.metrics if at.spec.analysis else ()
    wanted = [g for g in gates if due is Sampling.CHECK or
              (due is Sampling.LOOK and g.name in looked_at(at.spec))]
    observations = Observations(
        route=at.route, comparisons=tuple(sample(g.name) for g in wanted),
    )
    decision = decide(at.spec, at.status, observations=observations, now=at.now,
                      generation=at.generation)
    at.apply(decision)
    return decision


def test_a_step_entered_by_a_passing_check_keeps_its_interval() -> None:
    w = world()
    w.now = T0 + MINUTE
    assert reconcile(w, healthy).status.current_step == 2
    for look in range(1, 12):  # every look of step 2's minute, all conclusively healthy
        w.now = T0 + MINUTE + look * LOOK
        decision = reconcile(w, healthy)
        assert decision.status.current_step == 2, (
            f"step 2 ended {look * LOOK} into its 1m interval: {decision.status.message}"
        )
    w.now = T0 + 2 * MINUTE
    assert reconcile(w, healthy).status.current_step == 3


def test_a_step_held_for_evidence_by_its_check_moves_on_at_a_conclusive_look() -> None:
    w = world()
    w.now = T0 + MINUTE
    held = reconcile(w, few)
    assert held.status.current_step == 1, "the check holds the step for evidence"
    w.now = T0 + MINUTE + LOOK
    assert reconcile(w, healthy).status.current_step == 2
