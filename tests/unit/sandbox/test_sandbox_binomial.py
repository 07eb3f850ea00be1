"""The exact binomial test the split checks rely on, against hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canary.sandbox.loadgen import Tally, binomial_two_sided_p, split_p_value

pytestmark = pytest.mark.unit


def _brute_force(k: int, n: int, p: float) -> float:
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(x for x in pmf if x <= pmf[k] * (1 + 1e-7)))


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (3, 10, 0.5, 0.34375),  # symmetric: 2 * P(X <= 3)
        (0, 10, 0.5, 2 / 1024),
        (5, 10, 0.5, 1.0),
        (0, 5, 0.0, 1.0),
        (1, 5, 0.0, 0.0),
        (5, 5, 1.0, 1.0),
    ],
)
def test_known_p_values(k: int, n: int, p: float, expected: float) -> None:
    assert binomial_two_sided_p(k, n, p) == pytest.approx(expected, rel=1e-9)


@given(
    n=st.integers(min_value=1, max_value=60),
    p=st.floats(min_value=0.01, max_value=0.99),
    data=st.data(),
)
def test_log_space_computation_matches_the_direct_sum(
    n: int, p: float, data: st.DataObject
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    assert binomial_two_sided_p(k, n, p) == pytest.approx(
        _brute_force(k, n, p), rel=1e-6, abs=1e-12
    )


def test_a_split_far_from_the_weights_is_rejected_and_a_close_one_is_not() -> None:
    close = Tally(by_version=Counter({"v1": 1795, "v2": 205}))
    far = Tally(by_version=Counter({"v1": 1700, "v2": 300}))
    weights = {"v1": 90, "v2": 10}
    assert split_p_value(close, "v2", weights) > 0.1
    assert split_p_value(far, "v2", weights) < 1e-6


def test_a_version_at_weight_zero_must_receive_nothing() -> None:
    weights = {"v1": 100, "v2": 0}
    assert split_p_value(Tally(by_version=Counter({"v1": 500})), "v2", weights) == 1.0
    assert split_p_value(Tally(by_version=Counter({"v1": 499, "v2": 1})), "v2", weights) == 0.0
