"""The two stories of the demo, told through the API the way a user would: declare a Canary
(v1 -> v2, healthy, promoted), then edit the route and the Canary for v3 (failing, rolled back).

It only writes what a user writes (the route, the Canary, a fault injected into v3) and waits
for the outcome; every decision is the operator's, running as its own process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass

from pydantic import ValidationError

from canary.api.status import CanaryStatus, Phase
from canary.kube.resources import CANARY, HTTPROUTE
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.observe import canary, wait_for_envoy
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.loadgen import Tally

FINISHED = (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED)


@dataclass(frozen=True)
class Story:
    number: int
    title: str
    stable: str
    canary: str
    expected: Phase
    started: float  # time.monotonic() when the user's edit was sent

    @property
    def revision(self) -> str:
        return self.canary


@dataclass(frozen=True)
class StoryResult:
    story: Story
    status: CanaryStatus
    seconds: float
    after: Tally | None = None  # the load's answers once Envoy ran the final weights

    def final_weights(self) -> dict[str, int] | None:
        """The weights the route ends with: all on the canary, or all back on the stable."""
        if self.status.phase is Phase.SUCCEEDED:
            return {self.story.stable: 0, self.story.canary: 100}
        if self.status.phase is Phase.ROLLED_BACK:
            return {self.story.stable: 100, self.story.canary: 0}
        return None

    @property
    def as_expected(self) -> bool:
        return self.status.phase is self.story.expected


async def begin_story_one(world: DemoWorld) -> Story:
    """Declare the Canary: shift the route from v1 to v2, gated on v2's metrics at Envoy."""
    started = time.monotonic()
    await world.apply(CANARY, m.canary(world.settings, stable="v1", canary="v2"))
    title = "v1 -> v2, a healthy version: promoted step by step"
    return Story(1, title, "v1", "v2", Phase.SUCCEEDED, started)


async def begin_story_two(
    world: DemoWorld, *, inject_fault: bool = True, gates: m.Gates = m.Gates.BOTH
) -> Story:
    """v3 ships with a bug (injected errors). The user edits two objects, in this order:

    1. the route: v2, promoted in story 1, becomes the only live backend, and v3 joins it at
       weight 0 (the operator only moves weights; adding a backend is the user's edit);
    2. the Canary: stable v2, canary v3, revision v3, which starts a new rollout (its errors
       gates as `gates` says: the rollback benchmark also runs the others).
    """
    s = world.settings
    started = time.monotonic()
    # v3's image fails requests; the demo sets its rate (and a benchmark starts it healthy).
    await world.set_faults("v3", error_rate=s.bad_error_rate if inject_fault else 0.0)
    await world.apply(HTTPROUTE, m.route(s, {"v2": 100, "v3": 0}))
    # Like `kubectl wait` for the route: the rollout then starts on a route that has v3.
    await wait_for_envoy(world, {"v2": 100, "v3": 0})
    await world.apply(CANARY, m.canary(s, stable="v2", canary="v3", gates=gates))
    title = f"v2 -> v3, which fails {s.bad_error_rate:.0%} of its requests: rolled back"
    return Story(2, title, "v2", "v3", Phase.ROLLED_BACK, started)


def status_of(obj: dict[str, object] | None) -> CanaryStatus | None:
    """The Canary's status, or None while it has none the operator wrote."""
    if obj is None or not obj.get("status"):
        return None
    try:
        return CanaryStatus.model_validate(obj["status"])
    except ValidationError:
        return None


def story_timeout(world: DemoWorld) -> float:
    """Generous: every step checked three times, plus start-up and promotion."""
    s = world.settings
    return float(s.interval * (3 * len(s.weights) + 6) + 60)


async def finish(world: DemoWorld, story: Story, *, within: float | None = None) -> StoryResult:
    """Wait until the Canary's rollout of this story's revision is finished; say how it ended."""
    limit = within if within is not None else story_timeout(world)
    last: CanaryStatus | None = None
    try:
        async with asyncio.timeout(limit):
            while True:
                world.check_operator()
                obj = await canary(world)
                last = status_of(obj)
                generation = int((obj or {}).get("metadata", {}).get("generation", 0))
                if (
                    last is not None
                    and last.revision == story.revision
                    and last.observed_generation >= generation
                    and last.phase in FINISHED
                ):
                    return StoryResult(story, last, time.monotonic() - story.started)
                await asyncio.sleep(0.2)
    except TimeoutError:
        where = f"{last.phase} at {last.canary_weight}%: {last.message}" if last else "no status"
        raise TimeoutError(
            f"story {story.number} did not finish within {limit:g}s ({where})"
        ) from None


async def aftermath(world: DemoWorld, result: StoryResult, *, seconds: float = 2.0) -> StoryResult:
    """Wait until Envoy runs the story's final weights, then for `seconds` of load after that;
    the answers show where the users went (after a rollback: never to the canary)."""
    final = result.final_weights()
    if final is None:
        return result
    since = await wait_for_envoy(world, final)
    async with asyncio.timeout(seconds + 30):
        after = await world.load.wait_for(int(seconds * world.settings.rate), since=since)
    return dataclasses.replace(result, after=after)
