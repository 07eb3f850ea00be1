"""The comparison gates' false-alarm bound under continuous monitoring, on simulated null data:
for random base rates, traffic splits and seeds, many sequential paths looked at after every
step; the share of paths that ever Fail stays within alpha plus a binomial sampling margin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canary.api import MetricVerdict
from canary.core.sequential import (
    Counts,
    Histogram,
    compare_error_rates,
    compare_error_rates_by_step,
    compare_latency,
)

pytestmark = pytest.mark.unit

ALPHA = 0.05  # larger than the operator's default so that the bound is measurable in few paths
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def modest(examples: int) -> settings:
    """Few examples (each simulates hundreds of paths), the same ones on every run."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def bound(paths: int) -> float:
    """alpha plus a one-sided 3-sigma binomial margin."""
    return ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / paths)


def error_paths(
    seed: int, paths: int, looks: int, rate: float, share: float, p_canary: float, p_stable: float
) -> np.ndarray:
    """Cumulative (canary requests, failures, stable requests, failures) per path and look."""
    rng = np.random.default_rng(seed)
    nc = rng.poisson(rate * share, (paths, looks))
    ns = rng.poisson(rate * (1 - share), (paths, looks))
    xc = rng.binomial(nc, p_canary)
    xs = rng.binomial(ns, p_stable)
    return np.cumsum(np.stack([nc, xc, ns, xs], axis=-1), axis=1).astype(float)


def ever_fails(path: np.ndarray, tolerance: float) -> bool:
    for nc, xc, ns, xs in path:
        verdict = compare_error_rates(
            Counts(nc, xc), Counts(ns, xs), tolerance=tolerance, alpha=ALPHA
        ).verdict
        if verdict is MetricVerdict.FAIL:
            return True
    return False


@modest(6)
@given(
    base=st.floats(min_value=0.002, max_value=0.1),
    share=st.sampled_from([0.1, 0.3, 0.5]),
    rate=st.sampled_from([10.0, 50.0, 300.0]),
    seed=seeds,
)
def test_a_canary_as_good_as_stable_rarely_ever_fails(
    base: float, share: float, rate: float, seed: int
) -> None:
    paths, looks = 200, 60
    data = error_paths(seed, paths, looks, rate, share, base, base)
    fails = sum(ever_fails(p, tolerance=0.0) for p in data)
    assert fails / paths <= bound(paths), (fails, paths)


@modest(6)
@given(
    base=st.floats(min_value=0.002, max_value=0.05),
    tolerance=st.sampled_from([0.5, 1.0, 2.0]),
    share=st.sampled_from([0.1, 0.5]),
    rate=st.sampled_from([20.0, 100.0, 500.0]),
    seed=seeds,
)
def test_a_canary_worse_by_exactly_the_tolerance_rarely_ever_fails(
    base: float, tolerance: float, share: float, rate: float, seed: int
) -> None:
    paths, looks = 200, 60
    data = error_paths(seed, paths, looks, rate, share, base + tolerance / 100, base)
    fails = sum(ever_fails(p, tolerance=tolerance) for p in data)
    assert fails / paths <= bound(paths), (fails, paths)


@modest(4)
@given(
    base=st.floats(min_value=0.002, max_value=0.02),
    incident=st.floats(min_value=0.05, max_value=0.3),
    seed=seeds,
)
def test_by_step_a_shared_incident_while_the_split_grows_rarely_fails(
    base: float, incident: float, seed: int
) -> None:
    """Steps of 10 % and 50 % canary; the second is hit by an incident both backends share."""
    rng = np.random.default_rng(seed)
    paths, looks, route = 150, 20, 200.0
    fails = 0
    for _ in range(paths):
        steps: list[tuple[Counts, Counts]] = []
        failed = False
        for weight, p in ((0.1, base), (0.5, incident)):
            c = s = Counts(0.0, 0.0)
            for _ in range(looks):
                nc, ns = rng.poisson(route * weight), rng.poisson(route * (1 - weight))
                c = Counts(c.requests + nc, c.failures + rng.binomial(nc, p))
                s = Counts(s.requests + ns, s.failures + rng.binomial(ns, p))
                verdict = compare_error_rates_by_step(
                    [*steps, (c, s)], tolerance=0.0, alpha=ALPHA
                ).verdict
                if verdict is MetricVerdict.FAIL:
                    failed = True
                    break
            if failed:
                break
            steps.append((c, s))
        fails += failed
    assert fails / paths <= bound(paths), (fails, paths)


BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


@modest(4)
@given(
    median=st.floats(min_value=5.0, max_value=400.0),
    sigma=st.floats(min_value=0.2, max_value=1.2),
    share=st.sampled_from([0.1, 0.5]),
    seed=seeds,
)
def test_identical_latency_distributions_rarely_ever_fail(
    median: float, sigma: float, share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    edges = np.array(BOUNDS)
    z = (np.log(edges) - math.log(median)) / (sigma * math.sqrt(2))
    cdf = np.append(0.5 * (1 + np.array([math.erf(v) for v in z])), 1.0)
    probs = np.diff(np.concatenate(([0.0], cdf)))
    paths, looks, rate = 100, 30, 100.0
    fails = 0
    for _ in range(paths):
        c = rng.poisson(rate * share * probs, (looks, len(probs))).cumsum(axis=0).cumsum(axis=1)
        s = rng.poisson(rate * (1 - share) * probs, (looks, len(probs)))
        s = s.cumsum(axis=0).cumsum(axis=1)
        for look in range(looks):
            les = (*BOUNDS, math.inf)
            hc = Histogram(tuple(zip(les, map(float, c[look]), strict=True)))
            hs = Histogram(tuple(zip(les, map(float, s[look]), strict=True)))
            verdict = compare_latency(hc, hs, slowdown=0.0, tolerance=0.0, alpha=ALPHA).verdict
            if verdict is MetricVerdict.FAIL:
                fails += 1
                break
    assert fails / paths <= bound(paths), (fails, paths)
