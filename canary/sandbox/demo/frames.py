"""One snapshot of the demo for the screen: the Canary, the declared and the running weights,
and the split observed since Envoy took those weights (the load's answers and Envoy's own
per-backend counters).

`Tracker.frame()` does the reading; the `Frame` it returns is a plain value the pure view and
the plain-text progress lines draw from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus, Phase
from canary.cli.events import EventLine
from canary.kube.errors import KubeError
from canary.sandbox.demo import observe
from canary.sandbox.demo.stories import Story, status_of
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.loadgen import Tally, split_p_value

SETTLE = 0.1  # seconds; see `Tracker.frame`


@dataclass(frozen=True)
class Frame:
    elapsed: float  # seconds since the demo began
    now: datetime  # when the frame was read (for ages and the next check)
    story: Story | None
    spec: CanarySpec | None = None
    status: CanaryStatus | None = None
    declared: dict[str, int] = field(default_factory=dict)  # the route, in the API server
    running: dict[str, int] = field(default_factory=dict)  # what Envoy confirmed it runs
    running_for: float = 0.0  # seconds since Envoy took `running`
    observed: Tally = field(default_factory=Tally)  # the load's answers since then
    counted: dict[str, int] = field(default_factory=dict)  # Envoy's per-backend requests since
    events: tuple[EventLine, ...] = ()
    deployments: tuple[observe.DeploymentLine, ...] = ()  # workload mode: app and app-primary

    def p_value(self) -> float | None:
        """The exact binomial test of the canary's share against the running weights (in
        workload mode by the versions the primary and the canary run; once promoted, the
        primary runs the canary's version and there is nothing to test)."""
        story = self.story
        if story is None or not self.observed.total:
            return None
        if story.workload and self.status is not None and self.status.phase is Phase.SUCCEEDED:
            return None
        running = story.answering(self.running)
        if story.canary not in running:
            return None
        return split_p_value(self.observed, story.canary, running)


class Tracker:
    """Remembers when Envoy's weights last changed, to count only what followed."""

    def __init__(self, world: DemoWorld, *, started: float) -> None:
        self.world, self.started = world, started
        self._running: dict[str, int] = {}
        self._since = started
        self._base: dict[str, int] = {}
        self._events_since = datetime.now(UTC)
        self._events: tuple[EventLine, ...] = ()
        self._declared: dict[str, int] = {}
        self._deployments: tuple[observe.DeploymentLine, ...] = ()

    async def frame(self, story: Story | None) -> Frame:
        world = self.world
        read_at = time.monotonic()
        running = await observe.envoy_weights(world)
        # Count only requests sent while Envoy surely ran `running`: it may have taken newer
        # weights a moment before the gateway controller saw it confirm them.
        observed = Tally.of(
            r for r in world.load.results(since=self._since) if r.started <= read_at - SETTLE
        )
        counters = await observe.envoy_requests(world)
        if running != self._running:
            self._running, self._since, self._base = running, read_at, counters
            observed = Tally()
        counted = {v: n - self._base.get(v, 0) for v, n in counters.items()}
        spec, status = None, None
        try:
            obj = await observe.canary(world)
            self._declared = observe.declared_weights(await observe.route(world))
            self._events = tuple(await observe.canary_events(world, since=self._events_since))
            if world.settings.workload:
                self._deployments = tuple(await observe.deployments(world))
        except KubeError:
            obj = None  # a slow API server shows as one frame without the Canary, not a crash
        if obj is not None:
            status = status_of(obj)
            try:
                spec = CanarySpec.model_validate(obj.get("spec") or {})
            except ValidationError:
                spec = None
        return Frame(
            elapsed=time.monotonic() - self.started,
            now=datetime.now(UTC),
            story=story,
            spec=spec,
            status=status,
            declared=self._declared,
            running=running,
            running_for=time.monotonic() - self._since,
            observed=observed,
            counted={v: n for v, n in counted.items() if n or v in running},
            events=self._events,
            deployments=self._deployments,
        )
