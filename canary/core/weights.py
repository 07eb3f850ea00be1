"""Step schedule arithmetic: the canary weights a Steps declaration expands to, where a weight
sits in it, and what comes next. Weights are integer percents in [0, 100].

Pure arithmetic on the spec; no status, no time.
"""

from __future__ import annotations

from canary.api.steps import Steps

PROMOTED = 100
ROLLED_BACK = 0


def schedule(steps: Steps) -> tuple[int, ...]:
    """The canary weight of each step, strictly increasing, every one in [1, 100]."""
    if steps.weights is not None:
        return tuple(steps.weights)
    if steps.step_weight is None or steps.max_weight is None:
        raise ValueError("steps need weights, or stepWeight and maxWeight")
    return (*range(steps.step_weight, steps.max_weight, steps.step_weight), steps.max_weight)


def max_weight(steps: Steps) -> int:
    """The highest canary weight before promotion."""
    return schedule(steps)[-1]


def next_weight(steps: Steps, current: int) -> int | None:
    """The first step weight above `current`, or None when the next move is promotion.

    Keyed on the weight, not an index, so an edit of the schedule mid-rollout never moves the
    weight backwards: the rollout continues from the first step above where it stands."""
    return next((weight for weight in schedule(steps) if weight > current), None)


def step_number(steps: Steps, current: int) -> int:
    """1-based number of the step in force at `current` (0 before the first step)."""
    return sum(1 for weight in schedule(steps) if weight <= current)


def split(canary: int) -> tuple[int, int]:
    """(stable, canary) weights for a canary share; they always sum to 100."""
    if not 0 <= canary <= 100:
        raise ValueError(f"canary weight {canary} is outside 0..100")
    return 100 - canary, canary
