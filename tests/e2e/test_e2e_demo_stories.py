"""The demo's two stories, end to end, in workload mode (each one `kubectl set image` of the
Deployment `app`): the operator promotes a healthy v2 and rolls back a failing v3, and at every
step the split Envoy really serves (by the version that answers) is the weight the route
declares. v3's
rollback is decided by the errors comparison, on conclusive evidence of harm, at the first step
and before the threshold gates' `failureThreshold` failing checks would have rolled it back.

How a step is sampled, and why the step cannot change under the sample:

1. wait until the route (in the API server) declares the step's weights, and note the route's
   `metadata.generation` — it changes on every spec write, and only on those;
2. wait until Envoy confirms it runs exactly those weights;
3. send 1,000 requests as fast as four keep-alive connections allow (`send`), all of them after
   that confirmation, and count who answered each one (`x-demo-version`);
4. read the route again: the same generation proves nobody (not the operator, not a user) wrote
   the route during the sample, so Envoy served the step's weights the whole time. Steps last
   `STEP_SECONDS` (conftest), several times what a sample takes, so this holds in practice; if
   it ever does not, the test fails with that message rather than judging a mixed sample.

The split is judged with an exact two-sided binomial test. The whole test may fail a correct
operator once in a thousand runs (ALPHA = 0.001); that is shared (Bonferroni) between the five
steps judged by p-value (four in story 1, one in story 2), so each step is tested at 0.0002.
Over 1,000 requests, a share off by 6 points at the 10 % step, or by 9 points at 25-75 %, then
fails at least 97 % of the time (the exact power of this test). A weight of 0 or 100 must be
met exactly, with no room for chance.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from canary.api.status import Phase
from canary.sandbox.demo import observe
from canary.sandbox.demo.stories import Story, begin_story_one, begin_story_two, finish
from canary.sandbox.demo.summary import HARM, harm, seconds_of_traffic
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.loadgen import Tally, send, split_p_value

pytestmark = pytest.mark.e2e

ALPHA = 0.001  # for the whole test
JUDGED_STEPS = 5
STEP_ALPHA = ALPHA / JUDGED_STEPS
SAMPLE = 1000


async def _route_declares(world: DemoWorld, weights: dict[str, int]) -> int:
    """Wait until the route declares `weights`; return the route's generation at that moment."""
    seen: dict[str, int] = {}
    try:
        async with asyncio.timeout(3 * world.settings.interval + 30):
            while (
                seen := observe.declared_weights(route := await observe.route(world))
            ) != weights:
                world.check_operator()
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"the route never declared {weights}; last: {seen}") from None
    return int(route["metadata"]["generation"])


async def _sample(
    world: DemoWorld, story: Story, canary_weight: int, *, promoted: bool = False
) -> Tally:
    """1,000 requests through Envoy while it runs this step's weights (see the module doc)."""
    weights = story.weights(canary_weight)
    generation = await _route_declares(world, weights)
    await observe.wait_for_envoy(world, weights)
    tally = await send(world.url, SAMPLE, connections=4)
    after = int((await observe.route(world))["metadata"]["generation"])
    assert after == generation, (
        f"the route changed while the {canary_weight}% step was sampled (generation "
        f"{generation} -> {after}): the step interval is too short for this machine"
    )
    assert tally.total == SAMPLE
    assert tally.by_status.get(0, 0) == 0, f"connection errors: {dict(tally.by_status)}"
    answering = story.answering(weights, promoted=promoted)
    assert set(tally.by_version) <= set(answering), f"answers by nobody: {dict(tally.by_version)}"
    return tally


async def _assert_split(
    world: DemoWorld, story: Story, canary_weight: int, *, promoted: bool = False
) -> None:
    tally = await _sample(world, story, canary_weight, promoted=promoted)
    weights = story.answering(story.weights(canary_weight), promoted=promoted)
    p_value = split_p_value(tally, story.canary, weights)
    assert p_value > STEP_ALPHA, (
        f"at {canary_weight}%: {dict(tally.by_version)} is unlikely under {weights} "
        f"(exact binomial p = {p_value:.2g} <= {STEP_ALPHA})"
    )


async def test_healthy_v2_is_promoted_and_failing_v3_rolled_back_with_every_split_as_declared(
    world: DemoWorld,
) -> None:
    settings = world.settings
    assert len(settings.weights) + 1 == JUDGED_STEPS
    story = await begin_story_one(world)
    for weight in settings.weights:
        await _assert_split(world, story, weight)
    result = await finish(world, story)
    assert result.status.phase is Phase.SUCCEEDED, result.status.message
    # Promoted: 100 % back on the primary, which now runs v2 (workload mode).
    final = result.final_weights()
    assert final is not None
    await _assert_split(world, story, final[story.canary_backend], promoted=True)

    story = await begin_story_two(world)
    await _assert_split(world, story, settings.weights[0])
    result = await finish(world, story)
    status = result.status
    assert status.phase is Phase.ROLLED_BACK, status.message
    # Decided by the comparison: conclusive harm, with its evidence in the status ...
    assert HARM in status.message, status.message
    decided = harm(status)
    assert decided is not None and decided.comparison is not None, status.metrics
    evidence = decided.comparison
    assert evidence.tolerance == settings.tolerance and evidence.lower > evidence.tolerance
    assert evidence.canary.failures > 0 and evidence.stable.failures == 0, evidence
    assert evidence.canary.requests >= 30 and evidence.stable.requests >= 30, evidence
    assert "worse than the tolerated" in decided.message, decided.message
    # ... at step 1 (the threshold's failed check holds it there), no later than the threshold
    # gates' own rollback would have come (`failureThreshold` checks). Mostly at the first look,
    # about 5 s in, on the sample's ~100 requests to v3; but when the whole sample falls before
    # the first scrape of v3's Envoy series (created at v3's first answers), `increase()` does
    # not count it, and the comparison sees only the steady load's 6 requests a second: about
    # 13 s in (2 of 4 runs). That loss is the comparison queries', reported, not fixed here.
    assert status.current_step == 1 and status.failed_checks < settings.failure_threshold, status
    after = seconds_of_traffic(decided)
    limit = settings.failure_threshold * settings.interval
    assert after is not None and after <= limit, (after, decided)

    # After the rollback v3 gets nothing: neither the 1,000 requests sent once Envoy dropped
    # it, nor the steady load, nor anything Envoy itself counts for v3 in the seconds after.
    dropped_at = await observe.wait_for_envoy(world, story.weights(0))
    tally = await _sample(world, story, 0)
    assert tally.by_version == {"v2": SAMPLE}
    counted = (await observe.envoy_requests(world)).get(story.canary_backend, 0)
    resumed = time.monotonic()
    async with asyncio.timeout(30):
        await world.load.wait_for(int(2 * settings.rate), since=resumed)
    assert (await observe.envoy_requests(world)).get(story.canary_backend, 0) == counted
    steady = world.load.tally(since=dropped_at)
    assert steady.by_version.get("v3", 0) == 0, f"v3 answered after the rollback: {steady}"
