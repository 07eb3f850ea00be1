"""Step schedule arithmetic: what a Steps declaration expands to and what comes next."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canary.api import Steps
from canary.core import weights

pytestmark = pytest.mark.unit


def steps(**fields: object) -> Steps:
    return Steps.model_validate(fields)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ({"stepWeight": 5, "maxWeight": 20}, (5, 10, 15, 20)),
        ({"stepWeight": 30, "maxWeight": 50}, (30, 50)),
        ({"stepWeight": 50, "maxWeight": 50}, (50,)),
        ({"stepWeight": 1, "maxWeight": 3}, (1, 2, 3)),
        ({"weights": [5, 10, 25, 50]}, (5, 10, 25, 50)),
        ({"weights": [100]}, (100,)),
    ],
)
def test_a_declaration_expands_to_its_step_weights(
    declared: dict[str, object], expected: tuple[int, ...]
) -> None:
    assert weights.schedule(steps(**declared)) == expected


def test_the_next_weight_is_the_first_step_above_the_current_weight() -> None:
    declared = steps(weights=[5, 10, 25, 50])
    assert weights.next_weight(declared, 0) == 5
    assert weights.next_weight(declared, 10) == 25
    assert weights.next_weight(declared, 12) == 25  # after an edit of the schedule
    assert weights.next_weight(declared, 50) is None  # next is promotion


def test_the_step_number_counts_the_steps_at_or_below_the_weight() -> None:
    declared = steps(stepWeight=10, maxWeight=30)
    assert [weights.step_number(declared, w) for w in (0, 10, 15, 20, 30)] == [0, 1, 1, 2, 3]


def test_a_split_always_sums_to_100_and_refuses_out_of_range_weights() -> None:
    assert weights.split(5) == (95, 5)
    assert weights.split(0) == (100, 0)
    with pytest.raises(ValueError, match="outside"):
        weights.split(101)


@settings(max_examples=1000, deadline=None)
@given(step=st.integers(1, 100), data=st.data())
def test_a_step_schedule_is_strictly_increasing_integers_ending_at_max_weight(
    step: int, data: st.DataObject
) -> None:
    maximum = data.draw(st.integers(step, 100))
    schedule = weights.schedule(steps(stepWeight=step, maxWeight=maximum))
    assert all(isinstance(w, int) and 1 <= w <= 100 for w in schedule)
    assert list(schedule) == sorted(set(schedule))
    assert schedule[-1] == maximum == weights.max_weight(steps(stepWeight=step, maxWeight=maximum))
    assert all(b - a <= step for a, b in zip((0, *schedule), schedule, strict=False))
