"""A comparison's no-data and error policies (`onNoData`, `onError`) count at a step's check, as
for threshold gates, not at every look between checks: a look that cannot compare (Prometheus
has not scraped the canary yet, a query failed once) moves nothing, whatever the policy. Only
conclusive harm acts at a look."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from core_world import MINUTE, T0, World, make_spec

from canary.api import CanarySpec, Phase
from canary.core.decide import Sampling, decide, looked_at, sampling_due
from canary.core.decision import Decision
from canary.core.observations import ComparisonSample, Observations, SampleOutcome
from canary.core.sequential import Counts

pytestmark = pytest.mark.unit

LOOK = timedelta(seconds=5)
Sampled = Callable[[str], ComparisonSample]


def spec_with(policy: str) -> CanarySpec:
    gate = {"name": "errors", "compare": {"errorRate": {"template": "contour"}}, policy: "Fail"}
    return make_spec(
        steps={"weights": [10, 50], "interval": "1m"},
        analysis={"metrics": [gate], "failureThreshold": 2},
    )


def missing(name: str) -> ComparisonSample:
    return ComparisonSample(name, SampleOutcome.NO_DATA, since=T0, query=f"q({name})")


def failing(name: str) -> ComparisonSample:
    return ComparisonSample(name, SampleOutcome.ERROR, since=T0, query=f"q({name})",
                            error="connection refused")


def healthy(name: str) -> ComparisonSample:
    return ComparisonSample(
        name, SampleOutcome.VALUE, steps=((Counts(20000, 100), Counts(20000, 100)),),
        since=T0, query=f"q({name})",
    )


def reconcile(world: World, sample: Sampled) -> Decision:
    due = sampling_due(world.spec, world.status, world.route, world.now)
    assert due is not None
    gates = world.spec.analysis.metrics if world.spec.analysis else ()
    wanted = [g for g in gates if due is Sampling.CHECK or g.name in looked_at(world.spec)]
    observations = Observations(
        route=world.route,
        comparisons=tuple(sample(g.name) for g in wanted),
    )
    decision = decide(world.spec, world.status, observations=observations, now=world.now,
                      generation=world.generation)
    world.apply(decision)
    return decision


@pytest.mark.parametrize(("policy", "sample"), [("onNoData", missing), ("onError", failing)])
def test_looks_that_cannot_compare_move_nothing_whatever_the_policy(
    policy: str, sample: Sampled
) -> None:
    world = World(spec_with(policy))
    world.tick()
    assert world.status.phase is Phase.PROGRESSING
    for look in range(1, 4):
        world.now = T0 + look * LOOK
        decision = reconcile(world, sample)
        assert decision.status.phase is Phase.PROGRESSING, decision.status.message
        assert decision.status.failed_checks == 0, f"look {look} counted a failed check"
        # Recorded at the first look; the same outcome again writes nothing for 30 s.
        assert decision.status.looked_at == T0 + LOOK
        assert decision.status.metrics[0].outcome in ("NoData", "Error")


@pytest.mark.parametrize(("policy", "sample"), [("onNoData", missing), ("onError", failing)])
def test_at_the_step_check_the_policy_counts(policy: str, sample: Sampled) -> None:
    world = World(spec_with(policy))
    world.tick()
    world.now = T0 + MINUTE
    decision = reconcile(world, sample)
    assert decision.status.failed_checks == 1
    assert decision.status.metrics[0].verdict == "Fail"


def test_a_look_after_data_arrives_still_judges_harm_and_health() -> None:
    world = World(spec_with("onNoData"))
    world.tick()
    world.now = T0 + LOOK
    reconcile(world, missing)
    world.now = T0 + 2 * LOOK
    decision = reconcile(world, healthy)
    assert decision.status.failed_checks == 0
    assert decision.status.metrics[0].comparison is not None
