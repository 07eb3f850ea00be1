"""The two stories of the demo, told through the API the way a user would. In workload mode
(`canary demo`): `kubectl set image` v2 (healthy, promoted), then v3 (failing, rolled back).
Otherwise: declare a Canary (v1 -> v2), then edit the route and the Canary for v3.

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
from canary.kube.resources import CANARY, DEPLOYMENT, HTTPROUTE
from canary.kube.workloads import template_hash
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.observe import canary, wait_for_envoy
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.loadgen import Tally

FINISHED = (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED)


@dataclass(frozen=True)
class Story:
    number: int
    title: str
    stable: str  # the versions, as they answer (`x-demo-version`)
    canary: str
    expected: Phase
    started: float  # time.monotonic() when the user's edit was sent
    template: str | None = None
    """Workload mode: the hash of the Deployment's pod template the edit made (the rollout's
    revision). None in two-Services mode, where the revision is the canary's version."""

    @property
    def revision(self) -> str:
        return self.template if self.template is not None else self.canary

    @property
    def workload(self) -> bool:
        return self.template is not None

    @property
    def stable_backend(self) -> str:
        """The route's backend (as `observe` names it) that serves the stable version."""
        return m.PRIMARY if self.workload else self.stable

    @property
    def canary_backend(self) -> str:
        return m.CANARY_BACKEND if self.workload else self.canary

    def weights(self, canary_weight: int) -> dict[str, int]:
        """The route's weights (by backend) at `canary_weight` % on the canary."""
        return {self.stable_backend: 100 - canary_weight, self.canary_backend: canary_weight}

    def answering(self, weights: dict[str, int], *, promoted: bool = False) -> dict[str, int]:
        """`weights` by backend as weights by the version that answers there: during the
        rollout, or once `promoted` (in workload mode the primary then runs the canary's
        version)."""
        primary = self.canary if promoted and self.workload else self.stable
        names = {self.stable_backend: primary, self.canary_backend: self.canary}
        out: dict[str, int] = {}
        for backend, weight in weights.items():
            version = names.get(backend, backend)
            out[version] = out.get(version, 0) + weight
        return out


@dataclass(frozen=True)
class StoryResult:
    story: Story
    status: CanaryStatus
    seconds: float
    after: Tally | None = None  # the load's answers once Envoy ran the final weights

    def final_weights(self) -> dict[str, int] | None:
        """The weights the route ends with: all on the canary, or all back on the stable (in
        workload mode all on the primary either way: a promotion copies the canary to it)."""
        if self.story.workload and self.status.phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK):
            return dict(m.WORKLOAD_WEIGHTS)
        if self.status.phase is Phase.SUCCEEDED:
            return {self.story.stable: 0, self.story.canary: 100}
        if self.status.phase is Phase.ROLLED_BACK:
            return {self.story.stable: 100, self.story.canary: 0}
        return None

    @property
    def as_expected(self) -> bool:
        return self.status.phase is self.story.expected


async def begin_story_one(world: DemoWorld) -> Story:
    """Declare the Canary: shift the route from v1 to v2, gated on v2's metrics at Envoy.
    In workload mode: `kubectl set image` v2 (the Canary is the world's, since its start)."""
    if world.settings.workload:
        return await release(world, 1, "v1", "v2")
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
    if s.workload:  # v3's image fails 30 % of its requests by itself
        return await release(world, 2, "v2", "v3")
    started = time.monotonic()
    # v3's image fails requests; the demo sets its rate (and a benchmark starts it healthy).
    await world.set_faults("v3", error_rate=s.bad_error_rate if inject_fault else 0.0)
    await world.apply(HTTPROUTE, m.route(s, {"v2": 100, "v3": 0}))
    # Like `kubectl wait` for the route: the rollout then starts on a route that has v3.
    await wait_for_envoy(world, {"v2": 100, "v3": 0})
    await world.apply(CANARY, m.canary(s, stable="v2", canary="v3", gates=gates))
    title = f"v2 -> v3, which fails {s.bad_error_rate:.0%} of its requests: rolled back"
    return Story(2, title, "v2", "v3", Phase.ROLLED_BACK, started)


async def set_image(world: DemoWorld, version: str) -> str:
    """Workload mode's one edit per release: `kubectl set image deployment/app
    app=canary-sandbox/demoapp:<version>` (the same change, as a JSON patch). Returns the new
    pod template's hash: the revision of the rollout it starts."""
    s = world.settings
    obj = await world.kube.patch(
        DEPLOYMENT, m.WORKLOAD, m.set_image(version), namespace=s.namespace,
        patch_type="json",
    )
    return template_hash(obj["spec"]["template"])


async def release(world: DemoWorld, number: int, stable: str, version: str) -> Story:
    """A release in workload mode: one `kubectl set image` of `version`; the stories' versions
    are those of the demo (v2 healthy, promoted; v3 failing 30 % of its requests: rolled
    back)."""
    started = time.monotonic()
    template = await set_image(world, version)
    if version == "v3":
        title = f"{stable} -> v3 (kubectl set image), which fails 30% of its requests: rolled back"
        expected = Phase.ROLLED_BACK
    else:
        title = f"{stable} -> {version} (kubectl set image), a healthy version: promoted"
        expected = Phase.SUCCEEDED
    return Story(number, title, stable, version, expected, started, template=template)


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
