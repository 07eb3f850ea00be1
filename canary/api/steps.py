"""The step schedule a Canary declares: which canary weights, how long each step lasts, and
where the rollout pauses.

Declarations only; the schedule arithmetic lives in `canary.core.weights`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from canary.api.duration import Duration, minimum_duration_rule, parse_duration
from canary.api.model import ApiModel, Rule

Weight = Annotated[int, Field(ge=1, le=100)]


class Pause(ApiModel):
    """Hold the rollout once the step at `atWeight` has passed its check, before shifting more
    traffic. Metric checks keep running during a pause, so a failing canary is still rolled back.
    """

    cel_rules = (
        minimum_duration_rule(
            "duration",
            "1s",
            "duration must be at least 1s; leave it out to pause until promoted by hand",
            optional=True,
        ),
    )

    at_weight: Weight
    """The canary weight (one of the step weights) after which to pause."""

    duration: Duration | None = None
    """How long to pause, e.g. `10m`. Absent: pause until a promote request
    (`spec.requests.promote`) arrives."""

    @property
    def until_promoted(self) -> bool:
        return self.duration is None

    @property
    def length(self) -> timedelta | None:
        return None if self.duration is None else parse_duration(self.duration)


def _pauses_on_schedule(steps: Steps) -> bool:
    if steps.weights is not None:
        return all(p.at_weight in steps.weights for p in steps.pauses)
    if steps.step_weight is None or steps.max_weight is None:
        return True  # reported by the weights/stepWeight rules
    return all(
        p.at_weight <= steps.max_weight
        and (p.at_weight % steps.step_weight == 0 or p.at_weight == steps.max_weight)
        for p in steps.pauses
    )


class Steps(ApiModel):
    """The traffic schedule: either an explicit list of canary weights, or `stepWeight` and
    `maxWeight`. After the last step passes, the canary is promoted (100 % of the traffic)."""

    cel_rules = (
        Rule(
            "has(self.weights) != has(self.stepWeight)",
            "set exactly one of weights (a list) or stepWeight (with maxWeight)",
            lambda s: (s.weights is None) != (s.step_weight is None),
        ),
        Rule(
            "has(self.stepWeight) == has(self.maxWeight)",
            "stepWeight and maxWeight go together: set both or neither",
            lambda s: (s.step_weight is None) == (s.max_weight is None),
        ),
        Rule(
            "!has(self.stepWeight) || !has(self.maxWeight) || self.stepWeight <= self.maxWeight",
            "stepWeight must not be larger than maxWeight",
            lambda s: s.step_weight is None
            or s.max_weight is None
            or s.step_weight <= s.max_weight,
        ),
        Rule(
            "!has(self.weights) || self.weights.isSorted()",
            "weights must be strictly increasing, e.g. [5, 10, 25, 50]",
            lambda s: s.weights is None or list(s.weights) == sorted(set(s.weights)),
            field_path=".weights",
        ),
        minimum_duration_rule("interval", "1s", "interval must be at least 1s"),
        Rule(
            "!has(self.pauses) || self.pauses.all(p, has(self.weights)"
            " ? p.atWeight in self.weights"
            " : (has(self.stepWeight) && has(self.maxWeight) && p.atWeight <= self.maxWeight"
            " && (p.atWeight % self.stepWeight == 0 || p.atWeight == self.maxWeight)))",
            "every pause atWeight must be one of the step weights",
            _pauses_on_schedule,
            field_path=".pauses",
        ),
    )

    weights: tuple[Weight, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    """Canary weights in percent, strictly increasing, e.g. `[5, 10, 25, 50]`. Excludes
    `stepWeight`."""

    step_weight: Weight | None = None
    """Add this many percent per step, up to `maxWeight` (the last step is `maxWeight` even when
    it is not a multiple). Requires `maxWeight`; excludes `weights`."""

    max_weight: Weight | None = None
    """The highest canary weight before promotion. Requires `stepWeight`."""

    interval: Duration = "1m"
    """How long each step lasts before its metric check, measured from the moment the step's
    weights were applied; a failed or inconclusive check is repeated after another interval."""

    pauses: tuple[Pause, ...] = Field(
        default=(),
        max_length=100,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["atWeight"],
        },
    )
    """Where to hold the rollout after a step passes: timed, or until promoted by hand."""

    @property
    def interval_length(self) -> timedelta:
        return parse_duration(self.interval)

    def pause_at(self, weight: int) -> Pause | None:
        """The pause declared after the step at `weight`, if any."""
        return next((p for p in self.pauses if p.at_weight == weight), None)
