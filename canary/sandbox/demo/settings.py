"""How the demo world is paced and sized: one frozen value shared by `canary demo`, the
end-to-end test and the rollback benchmark, so all three run the same stories.

Plain data; nothing here starts a process or reads the clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canary.sandbox.contour import CONTROLLER_NAME


class Speed(StrEnum):
    """Presets of `canary demo --speed`: the step interval, which is also the metric window."""

    FAST = "fast"
    NORMAL = "normal"
    SLOW = "slow"


STEP_SECONDS = {Speed.FAST: 5, Speed.NORMAL: 10, Speed.SLOW: 20}


@dataclass(frozen=True)
class DemoSettings:
    """Everything the stories depend on. Durations are whole seconds (Canary durations)."""

    interval: int = STEP_SECONDS[Speed.NORMAL]
    """Seconds each step lasts before its check; also each gate's look-back window."""

    weights: tuple[int, ...] = (10, 25, 50, 75)
    """The canary weight of each step (percent)."""

    rate: float = 60.0
    """Requests per second of the steady load through the gateway (the users)."""

    failure_threshold: int = 2
    """Failed checks that roll a rollout back."""

    tolerance: float = 1.0
    """The errors comparison: the canary fails on conclusive evidence that its error rate is
    more than this many percentage points above the stable's."""

    look_every: int = 2
    """Seconds between looks at the comparison (`analysis.sequential.every`) between checks:
    at least `scrape_interval`, as looking more often only sees the same samples again."""

    min_success: float = 99.0
    """The success-rate threshold gate: at least this percent of the canary's answers in the
    step's window are not 5xx."""

    max_latency_ms: float = 500.0
    """The latency gate: the canary's p99 at most this many milliseconds."""

    bad_error_rate: float = 0.3
    """The share of v3's answers that fail once its fault is injected (story 2)."""

    latency: float = 0.01
    """Every demo version takes this long to answer (seconds)."""

    scrape_interval: int = 1
    """Seconds between Prometheus scrapes of Envoy and the demo apps."""

    replicas: int = 2
    """Pods per version (each a process the node agent runs)."""

    listener_port: int = 80
    """The Gateway listener's port; Contour's Envoy listens on it plus 8000."""

    workload: bool = False
    """Workload mode (docs/workloads.md): one Deployment `app` whose pod template is the
    release (`kubectl set image`), the operator's primary and canary Services in the route.
    Otherwise a Deployment and a Service per version, and the user edits the route and the
    Canary for each release."""

    progress_deadline: int = 60
    """Workload mode: seconds a new pod template may take to be ready (`progressDeadline`)."""

    namespace: str = "demo"
    class_name: str = "canary-demo"
    controller_name: str = CONTROLLER_NAME

    @property
    def min_requests(self) -> int:
        """The traffic guard: fewer canary requests in the window make a check inconclusive.
        Half of what the first step sends the canary in one window, so only a quiet canary
        (not the demo's) is held up by it."""
        return max(1, int(self.rate * self.weights[0] / 100 * self.interval / 2))

    @classmethod
    def for_speed(cls, speed: Speed, *, interval: int | None = None) -> DemoSettings:
        """The preset of `speed` (`canary demo`: workload mode); an explicit `interval` wins
        over it."""
        return cls(interval=interval if interval is not None else STEP_SECONDS[speed],
                   workload=True)

    def but(self, **changes: Any) -> DemoSettings:
        """A copy with some fields changed (tests use their own namespace and class)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line naming the settings that decide how fast the operator reacts."""
        return (
            f"scrape every {self.scrape_interval}s, step interval and metric window "
            f"{self.interval}s, comparison looked at every {self.look_every}s, "
            f"failure threshold {self.failure_threshold}, "
            f"load {self.rate:g} req/s, steps {'/'.join(map(str, self.weights))} %"
        )
