"""Issue 14's acceptance on the sandbox: workload mode, where a release is one `kubectl set image`.

The demo world in workload mode (conftest.py, `DemoSettings(workload=True)`): one Deployment `app`
(`canary-sandbox/demoapp:v1`, two Pods the node agent runs), a route whose rule sends to the
operator's Services `app-primary` (100) and `app-canary` (0), Contour and its Envoy, Prometheus
scraping Envoy, steady load, and the operator started with `--workloads`. The world applies the
Canary (workload mode, the demo's gates: the errors comparison on Contour's series plus the
success-rate and latency thresholds) and waits until the operator made v1 the primary and
scaled `app` to zero. From then on the tests only run `kubectl set image` (the real kubectl)
and read: the route, what Envoy runs, who answers the requests, the Deployments and Pods.

Who answered a request is the demo app's `x-demo-version` header, so a split is judged by
version, independently of what the route or the operator says: at each step the canary's
version must get its weight's share (the exact binomial test of test_e2e_demo_stories.py,
with the same sampling discipline: route declared, Envoy confirmed, 1,000 requests, route
unchanged).

Each test prints its measured times (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from canary.api.status import CanaryStatus, Phase
from canary.api.workload import POD_LABEL
from canary.kube.resources import DEPLOYMENT, POD, JsonObj
from canary.kube.workloads import REVISION_ANNOTATION, template_hash
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo import observe
from canary.sandbox.demo.stories import Story, finish, status_of
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.loadgen import Tally, send, split_p_value

pytestmark = pytest.mark.e2e

T = TypeVar("T")
ALPHA = 0.001  # for each test, shared between its judged steps (Bonferroni)
SAMPLE = 1000
SETTLE_SECONDS = 60.0
IMAGE = m.IMAGE


class Clock:
    """Measured times, printed at the end of a test (and on its failure)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, what: str) -> float:
        at = time.monotonic() - self.start
        self.marks.append((what, at))
        print(f"[{at:6.1f}s] {what}", flush=True)
        return at


async def kubectl(world: DemoWorld, *args: str) -> str:
    """The real kubectl, as a user would run it, against the world's namespace."""
    proc = await asyncio.create_subprocess_exec(
        "kubectl",
        f"--kubeconfig={world.kubeconfig}",
        "-n",
        world.settings.namespace,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
    return out.decode()


async def set_image(world: DemoWorld, image: str) -> str:
    """`kubectl set image deployment/app app=<image>`; the new template's hash (revision)."""
    await kubectl(world, "set", "image", f"deployment/{m.WORKLOAD}", f"{m.CONTAINER}={image}")
    app = await world.kube.get(DEPLOYMENT, m.WORKLOAD, world.settings.namespace)
    return template_hash(app["spec"]["template"])


async def until(
    check: Callable[[], Awaitable[T | None]], *, within: float, what: str, world: DemoWorld
) -> T:
    last: T | None = None
    try:
        async with asyncio.timeout(within):
            while True:
                world.check_operator()
                last = await check()
                if last is not None and last is not False:
                    return last
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {within:g}s: {what}") from None


async def canary_status(world: DemoWorld) -> CanaryStatus | None:
    return status_of(await observe.canary(world))


def images(deployment: JsonObj) -> list[str]:
    return [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]


async def live_pods(world: DemoWorld, selector: str) -> list[JsonObj]:
    items, _ = await world.kube.list(POD, world.settings.namespace, label_selector=selector)
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


APP_PODS = f"app={m.APP_LABEL}"
PRIMARY_PODS = f"{POD_LABEL}={m.CANARY_NAME}-primary"


async def assert_settled(world: DemoWorld, *, primary_runs: str, revision: str) -> None:
    """The end of a release: the primary runs `primary_runs` (template `revision`) with all its
    Pods ready, `app` has 0 replicas and no Pod left, the route declares 100 % on the primary
    and Envoy runs exactly that."""
    ns = world.settings.namespace

    async def settled() -> bool:
        primary = await world.kube.get(DEPLOYMENT, f"{m.CANARY_NAME}-primary", ns)
        app = await world.kube.get(DEPLOYMENT, m.WORKLOAD, ns)
        ready = await world.ready_pods(PRIMARY_PODS)
        return (
            images(primary) == [f"{IMAGE}:{primary_runs}"]
            and primary["metadata"]["annotations"][REVISION_ANNOTATION] == revision
            and len(ready) == len(await live_pods(world, PRIMARY_PODS)) == world.settings.replicas
            and app["spec"]["replicas"] == 0
            and await live_pods(world, APP_PODS) == []
        )

    await until(settled, within=SETTLE_SECONDS, what=f"primary on {primary_runs}, app at 0",
                world=world)
    assert observe.declared_weights(await observe.route(world)) == m.WORKLOAD_WEIGHTS
    await observe.wait_for_envoy(world, m.WORKLOAD_WEIGHTS, within=30)


async def route_declares(world: DemoWorld, weights: dict[str, int]) -> int:
    """Wait until the route declares `weights`; its generation at that moment."""

    async def declared() -> int | None:
        route = await observe.route(world)
        return int(route["metadata"]["generation"]) if observe.declared_weights(
            route) == weights else None

    return await until(declared, within=3 * world.settings.interval + 60,
                       what=f"the route declares {weights}", world=world)


async def sample(
    world: DemoWorld, story: Story, canary_weight: int, *, answered_by: set[str] | None = None
) -> Tally:
    """1,000 requests while Envoy surely runs this step's weights (see the module doc); all of
    them answered by the versions in `answered_by` (by default those the weights name)."""
    weights = story.weights(canary_weight)
    generation = await route_declares(world, weights)
    await observe.wait_for_envoy(world, weights)
    tally = await send(world.url, SAMPLE, connections=4)
    after = int((await observe.route(world))["metadata"]["generation"])
    assert after == generation, f"the route changed during the {canary_weight}% sample"
    assert tally.total == SAMPLE and tally.by_status.get(0, 0) == 0, dict(tally.by_status)
    expected = answered_by or {v for v, w in story.answering(weights).items() if w}
    assert set(tally.by_version) <= expected, (canary_weight, dict(tally.by_version))
    return tally


async def assert_split(world: DemoWorld, story: Story, canary_weight: int, alpha: float) -> None:
    """At `canary_weight` % the canary's version answers its share (by `x-demo-version`)."""
    tally = await sample(world, story, canary_weight)
    by_version = {story.stable: 100 - canary_weight, story.canary: canary_weight}
    p_value = split_p_value(tally, story.canary, by_version)
    assert p_value > alpha, (canary_weight, dict(tally.by_version), p_value)


async def test_set_image_alone_promotes_v2_then_rolls_back_faulty_v3(world: DemoWorld) -> None:
    """The acceptance: `kubectl set image ... :v2` alone -> promoted; `... :v3` alone -> rolled
    back; nothing else is edited between or during the releases."""
    s, clock = world.settings, Clock()
    ns = s.namespace
    primary = f"{m.CANARY_NAME}-primary"
    first = await canary_status(world)
    assert first is not None and first.phase is Phase.SUCCEEDED and first.workload is not None
    v1 = first.workload.primary_revision
    assert v1 is not None
    await assert_settled(world, primary_runs="v1", revision=v1)
    clock.mark("start: v1 is the primary, app at 0 replicas, 100% on app-primary")

    # Release 1: v2, healthy.
    started = time.monotonic()
    v2 = await set_image(world, f"{IMAGE}:v2")
    clock.mark(f"kubectl set image deployment/app app={IMAGE}:v2 (template {v2})")
    story = Story(1, "v2", "v1", "v2", Phase.SUCCEEDED, started, template=v2)
    judged = len(s.weights)
    for weight in s.weights:
        await assert_split(world, story, weight, ALPHA / (judged + 1))
        clock.mark(f"step {weight}%: route, Envoy and the answers' split agree")
    result = await finish(world, story)
    assert result.status.phase is Phase.SUCCEEDED, result.status.message
    assert result.status.workload is not None
    assert result.status.workload.primary_revision == v2
    assert result.status.workload.images == (f"{IMAGE}:v2",)
    clock.mark(f"v2 promoted ({result.seconds:.0f}s after the set image)")
    await assert_settled(world, primary_runs="v2", revision=v2)
    clock.mark("primary runs v2, app at 0 replicas and no Pod, 100% on app-primary in Envoy")
    # 100 % on the primary, which now runs v2: v2 answers everything.
    tally = await sample(world, story, 0, answered_by={"v2"})
    assert tally.by_version == {"v2": SAMPLE}, dict(tally.by_version)

    # Release 2: v3, which fails 30 % of its requests (by its image).
    before = (await observe.envoy_requests(world)).get(m.CANARY_BACKEND, 0)
    started = time.monotonic()
    v3 = await set_image(world, f"{IMAGE}:v3")
    clock.mark(f"kubectl set image deployment/app app={IMAGE}:v3 (template {v3})")
    story = Story(2, "v3", "v2", "v3", Phase.ROLLED_BACK, started, template=v3)
    result = await finish(world, story)
    status = result.status
    assert status.phase is Phase.ROLLED_BACK, status.message
    assert status.current_step == 1, status  # rolled back at its first step
    clock.mark(f"v3 rolled back ({result.seconds:.0f}s after the set image): {status.message}")
    await assert_settled(world, primary_runs="v2", revision=v2)
    app = await world.kube.get(DEPLOYMENT, m.WORKLOAD, ns)
    assert images(app) == [f"{IMAGE}:v3"]  # the user's template is never edited back
    assert images(await world.kube.get(DEPLOYMENT, primary, ns)) == [f"{IMAGE}:v2"]
    to_v3 = (await observe.envoy_requests(world)).get(m.CANARY_BACKEND, 0) - before
    clock.mark(f"primary still v2; v3 scaled to zero after {to_v3} requests at its 10% step")

    # After the rollback v3 gets nothing: a sample, then the steady load, Envoy's own counter.
    tally = await sample(world, story, 0)
    assert tally.by_version == {"v2": SAMPLE}, dict(tally.by_version)
    counted = (await observe.envoy_requests(world)).get(m.CANARY_BACKEND, 0)
    resumed = time.monotonic()
    async with asyncio.timeout(30):
        await world.load.wait_for(int(2 * s.rate), since=resumed)
    assert (await observe.envoy_requests(world)).get(m.CANARY_BACKEND, 0) == counted
    steady = world.load.tally(since=resumed)
    assert set(steady.by_version) == {"v2"}, dict(steady.by_version)
    clock.mark("after the rollback: 1,000 + the steady load's requests all answered by v2")


async def test_a_new_template_mid_rollout_restarts_from_the_first_step(world: DemoWorld) -> None:
    """`kubectl set image` v2, then at v2's 25 % step `kubectl set image` v4: the weights go back
    to 0, v4 becomes the canary (its Pods ready first), and its rollout runs from the first
    step, every step served by v4 alone on the canary side, to its promotion."""
    s, clock = world.settings, Clock()
    started = time.monotonic()
    v2 = await set_image(world, f"{IMAGE}:v2")
    clock.mark(f"kubectl set image ... :v2 (template {v2})")
    first = Story(1, "v2", "v1", "v2", Phase.SUCCEEDED, started, template=v2)
    await route_declares(world, first.weights(s.weights[1]))
    clock.mark(f"v2 at its {s.weights[1]}% step")

    started = time.monotonic()
    v4 = await set_image(world, f"{IMAGE}:v4")  # any other tag: a healthy app naming its tag
    clock.mark(f"kubectl set image ... :v4 (template {v4})")
    story = Story(2, "v4", "v1", "v4", Phase.SUCCEEDED, started, template=v4)

    # Every weight the route declares from the edit on, with the revision the status names:
    # back to 0 first, and the first weight on v4 is the first step's.
    seen: list[tuple[int | None, str | None, str]] = []

    async def restarted_at_first_step() -> bool:
        route = await observe.route(world)
        weight = observe.declared_weights(route).get(m.CANARY_BACKEND)
        status = await canary_status(world)
        entry = (weight, status.revision if status else None,
                 str(status.phase) if status else "")
        if not seen or seen[-1] != entry:
            seen.append(entry)
        return weight == s.weights[0] and entry[1] == v4

    await until(restarted_at_first_step, within=60, what="v4 at the first step", world=world)
    clock.mark(f"v4 at the first step ({s.weights[0]}%); route/status seen: {seen}")
    # The route goes from v2's step to 0 and stays there until v4's first step. (The status
    # may name v4 a moment before the route shows 0: it is read after the route.)
    back_to_zero = next(i for i, (w, _, _) in enumerate(seen) if w == 0)
    assert all(w == s.weights[1] for w, _, _ in seen[:back_to_zero]), seen
    assert all(w == 0 for w, _, _ in seen[back_to_zero:-1]), seen
    assert seen[-1] == (s.weights[0], v4, str(Phase.PROGRESSING)), seen
    status = await canary_status(world)
    assert status is not None and status.current_step == 1 and status.revision == v4, status

    judged = len(s.weights)
    for weight in s.weights:  # the canary side answers as v4 only: v2's Pods are gone
        await assert_split(world, story, weight, ALPHA / judged)
        clock.mark(f"v4 step {weight}%: split as declared, answered by v1 and v4 only")
    result = await finish(world, story)
    assert result.status.phase is Phase.SUCCEEDED, result.status.message
    clock.mark(f"v4 promoted ({result.seconds:.0f}s after its set image)")
    await assert_settled(world, primary_runs="v4", revision=v4)
    clock.mark("primary runs v4, app at 0 replicas, 100% on app-primary")


async def test_a_canary_that_never_becomes_ready_is_rolled_back_at_the_progress_deadline(
    world: DemoWorld,
) -> None:
    """An image the node agent does not know (its Pods stay in ErrImagePull): the canary gets
    no traffic at any moment, and at `progressDeadline` the rollout is RolledBack with reason
    ProgressDeadlineExceeded, the Deployment scaled back to zero, the primary untouched."""
    s, clock = world.settings, Clock()
    first = await canary_status(world)
    assert first is not None and first.workload is not None
    v1 = first.workload.primary_revision
    assert v1 is not None
    started = time.monotonic()
    bad = await set_image(world, "canary-sandbox/no-such-image:v9")
    clock.mark(f"kubectl set image ... no-such-image:v9 (template {bad})")
    story = Story(1, "v9", "v1", "v9", Phase.ROLLED_BACK, started, template=bad)

    async def pulling() -> bool:
        pods = await live_pods(world, APP_PODS)
        waiting = [
            c.get("state", {}).get("waiting", {}).get("reason")
            for p in pods
            for c in p.get("status", {}).get("containerStatuses") or []
        ]
        return "ErrImagePull" in waiting or "ImagePullBackOff" in waiting

    await until(pulling, within=30, what="the canary's Pods in ErrImagePull", world=world)
    clock.mark("the canary's Pods report ErrImagePull")

    weights_seen: set[int] = set()

    async def watch_weights() -> None:
        while True:
            route = await observe.route(world)
            weights_seen.add(observe.declared_weights(route).get(m.CANARY_BACKEND, -1))
            running = await observe.envoy_weights(world)
            weights_seen.add(running.get(m.CANARY_BACKEND, 0))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch_weights())
    try:
        result = await finish(world, story, within=s.progress_deadline + 60)
    finally:
        watcher.cancel()
    status = result.status
    assert status.phase is Phase.ROLLED_BACK, status.message
    assert any(c.reason == "ProgressDeadlineExceeded" for c in status.conditions), status
    clock.mark(f"RolledBack {result.seconds:.1f}s after the set image "
               f"(progressDeadline {s.progress_deadline}s): {status.message}")
    # The status keeps whole seconds (waitingSince is the second the wait began), so the
    # deadline can come up to a second before `started`, taken to the microsecond, + 30 s.
    assert s.progress_deadline - 1 <= result.seconds <= s.progress_deadline + 15, result.seconds
    assert weights_seen == {0}, weights_seen  # never any traffic on the canary
    await assert_settled(world, primary_runs="v1", revision=v1)
    clock.mark("primary still v1, app at 0 replicas and no Pod, 100% on app-primary")


async def test_an_operator_killed_at_each_stage_of_a_promotion_resumes_with_no_traffic_on_a_version_not_ready(  # noqa: E501
    world: DemoWorld,
) -> None:
    """v2 reaches its last step; then the operator is SIGKILLed (and started again) at each stage
    of the promotion, as the world shows it: (1) the template just copied to the primary, whose
    rolling update has begun; (2) 100 % just moved back to the primary; (3) Succeeded. Watched
    every 50 ms: the canary never has traffic while it is not ready, the traffic leaves the
    canary only once the primary runs v2 on all its Pods, and the users' requests never fail."""
    s, clock = world.settings, Clock()
    ns = s.namespace
    primary_name = f"{m.CANARY_NAME}-primary"
    started = time.monotonic()
    v2 = await set_image(world, f"{IMAGE}:v2")
    story = Story(1, "v2", "v1", "v2", Phase.SUCCEEDED, started, template=v2)
    clock.mark(f"kubectl set image ... :v2 (template {v2})")
    await route_declares(world, story.weights(s.weights[-1]))
    clock.mark(f"v2 at its last step ({s.weights[-1]}%)")

    # (canary weight declared, app's ready Pods, primary's ready Pods on v2, primary's Pods)
    ticks: list[tuple[int, int, int, int]] = []

    async def watch() -> None:
        while True:
            weight = observe.declared_weights(await observe.route(world)).get(m.CANARY_BACKEND, 0)
            app = len(await world.ready_pods(APP_PODS))
            primary = await world.ready_pods(PRIMARY_PODS)
            on_v2 = sum(
                1 for p in primary if p["spec"]["containers"][0]["image"] == f"{IMAGE}:v2")
            ticks.append((weight, app, on_v2, len(await live_pods(world, PRIMARY_PODS))))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    promotion = time.monotonic()
    try:
        async def copied() -> bool:
            primary = await world.kube.get(DEPLOYMENT, primary_name, ns)
            annotations = primary["metadata"].get("annotations") or {}
            return bool(annotations.get(REVISION_ANNOTATION) == v2)

        await until(copied, within=3 * s.interval + 30, what="v2 copied to the primary",
                    world=world)
        await world.kill_operator()
        clock.mark("(1) template copied to app-primary: operator killed and restarted")

        await route_declares(world, story.weights(0))
        await world.kill_operator()
        clock.mark("(2) 100% back on app-primary: operator killed and restarted")

        result = await finish(world, story)
        assert result.status.phase is Phase.SUCCEEDED, result.status.message
        clock.mark(f"Succeeded ({result.seconds:.0f}s after the set image)")
        await world.kill_operator()
        clock.mark("(3) Succeeded: operator killed and restarted")
        await assert_settled(world, primary_runs="v2", revision=v2)
        clock.mark("primary runs v2, app at 0 replicas, 100% on app-primary")
    finally:
        watcher.cancel()

    replicas = s.replicas
    with_traffic = [t for t in ticks if t[0] > 0]
    assert with_traffic, ticks
    assert all(app == replicas for _, app, _, _ in with_traffic), with_traffic
    first_back = next(i for i, t in enumerate(ticks) if t[0] == 0)
    before = ticks[first_back - 1] if first_back else ticks[0]
    assert before[2] == replicas or ticks[first_back][2] == replicas, ticks[first_back - 3:]
    assert ticks[-1][0] == 0 and ticks[-1][2] == replicas, ticks[-1]
    served = world.load.tally(since=promotion)
    assert set(served.by_status) == {200}, dict(served.by_status)
    assert set(served.by_version) <= {"v1", "v2"}, dict(served.by_version)
    clock.mark(f"{len(ticks)} looks: no traffic on a canary not ready, none moved to the primary "
               f"before it ran v2 everywhere; {served.total} requests served, none failed")
