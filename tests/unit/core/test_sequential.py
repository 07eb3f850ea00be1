"""The comparison gates' statistics: the mixture likelihood ratio and its confidence sequence
against an independent computation (numerical integration with scipy), verdicts on clear
cases, clamping of Prometheus' inconsistent counts, latency histograms."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, stats  # type: ignore[import-untyped]

from canary.api import MetricVerdict
from canary.core.sequential import (
    DEFAULT_TAU,
    Comparison,
    Counts,
    Histogram,
    clamp_counts,
    compare_error_rates,
    compare_error_rates_by_step,
    compare_latency,
    compare_latency_by_step,
    confidence_radius,
    confidence_sequence,
    log_mixture_ratio,
)

pytestmark = pytest.mark.unit


def mixture_by_quadrature(estimate: float, theta0: float, variance: float, tau: float) -> float:
    """Lambda(theta0): the integral of N(est; theta, V) / N(est; theta0, V) against the mixing
    density N(theta; theta0, tau^2)."""
    sd = math.sqrt(variance)
    null = stats.norm.pdf(estimate, theta0, sd)

    def integrand(theta: float) -> float:
        return float(
            stats.norm.pdf(estimate, theta, sd) / null * stats.norm.pdf(theta, theta0, tau)
        )

    lo, hi = theta0 - 40 * tau, theta0 + 40 * tau
    value, _ = integrate.quad(integrand, lo, hi, points=[estimate, theta0], limit=400)
    return float(value)


@pytest.mark.parametrize(
    ("estimate", "theta0", "variance", "tau"),
    [
        (0.03, 0.01, 1e-4, 0.05),
        (0.0, 0.01, 4e-5, 0.02),
        (0.30, 0.01, 7e-4, 0.05),
        (0.012, 0.01, 2.5e-5, 0.03),
        (-0.02, 0.0, 1e-3, 0.1),
    ],
)
def test_the_mixture_ratio_is_the_integral_of_the_likelihood_ratio_over_the_mixing_density(
    estimate: float, theta0: float, variance: float, tau: float
) -> None:
    expected = math.log(mixture_by_quadrature(estimate, theta0, variance, tau))
    assert log_mixture_ratio(estimate, theta0, variance, tau) == pytest.approx(
        expected, rel=1e-6, abs=1e-8
    )


@pytest.mark.parametrize(
    ("variance", "tau", "alpha"),
    [(1e-4, 0.05, 0.01), (4e-6, 0.02, 0.005), (2e-3, 0.05, 0.05), (1e-5, 0.1, 0.001)],
)
def test_the_confidence_sequence_ends_where_the_mixture_ratio_reaches_one_over_alpha(
    variance: float, tau: float, alpha: float
) -> None:
    radius = confidence_radius(variance, tau, alpha)
    estimate = 0.02
    for theta0 in (estimate - radius, estimate + radius):
        ratio = mixture_by_quadrature(estimate, theta0, variance, tau)
        assert math.log(ratio) == pytest.approx(math.log(1 / alpha), rel=1e-6)
    # inside the sequence the ratio stays below 1/alpha
    inside = mixture_by_quadrature(estimate, estimate - 0.9 * radius, variance, tau)
    assert inside < 1 / alpha


def test_the_confidence_sequence_uses_the_plug_in_variance_with_half_a_failure_added() -> None:
    canary, stable = Counts(1000, 0), Counts(9000, 45)
    estimate, lower, upper = confidence_sequence(canary, stable, alpha=0.01)
    pc, ps = 0.5 / 1001, 45.5 / 9001
    variance = pc * (1 - pc) / 1000 + ps * (1 - ps) / 9000
    radius = confidence_radius(variance, DEFAULT_TAU, 0.01)
    assert estimate == pytest.approx(-0.005)
    assert (lower, upper) == pytest.approx((estimate - radius, estimate + radius))


def test_a_canary_with_30_percent_errors_fails_at_300_requests() -> None:
    result = compare_error_rates(Counts(300, 90), Counts(300, 1.5), tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.FAIL
    assert result.effect == pytest.approx(29.5)
    assert result.lower > 1 and result.upper > result.effect > result.lower
    assert result.log_evidence >= math.log(100)
    assert result.boundary is None
    assert result.summary.startswith("canary 30.0% errors vs stable 0.5% (+29.5 pp, 99% CS [+")
    assert result.summary.endswith("over 300 and 300 requests: worse than the tolerated +1 pp")


def test_the_summary_reads_like_the_contracts_example() -> None:
    result = compare_error_rates(Counts(1812, 565), Counts(16490, 66), tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.FAIL
    assert result.summary.startswith("canary 31.2% errors vs stable 0.4% (+30.8 pp, 99% CS [+")
    assert "over 1,812 and 16,490 requests: worse than the tolerated +1 pp" in result.summary


def test_equal_error_rates_over_many_requests_pass_a_one_point_tolerance() -> None:
    result = compare_error_rates(Counts(20000, 100), Counts(180000, 900), tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.PASS
    assert result.upper < 1 and result.lower < 0 < result.upper
    assert result.log_evidence == 0.0  # the estimate is below the tolerance
    assert result.summary.endswith("within the tolerated +1 pp")


def test_a_small_difference_over_few_requests_is_inconclusive() -> None:
    result = compare_error_rates(Counts(200, 3), Counts(1800, 9), tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.INCONCLUSIVE
    assert result.lower < 1 < result.upper
    assert "not yet conclusive" in result.summary


@pytest.mark.parametrize(
    ("canary", "stable", "words"),
    [
        (Counts(0, 0), Counts(0, 0), "no requests yet"),
        (Counts(10, 5), Counts(900, 4), "too few requests"),
        (Counts(500, 5), Counts(29, 0), "too few requests"),
    ],
)
def test_too_little_data_is_inconclusive_and_says_why(
    canary: Counts, stable: Counts, words: str
) -> None:
    result = compare_error_rates(canary, stable, tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.INCONCLUSIVE
    assert (result.lower, result.upper, result.log_evidence) == (-100.0, 100.0, 0.0)
    assert result.summary.startswith(words)
    assert "at least 30 on each side" in result.summary


def test_inconsistent_counts_from_increase_are_clamped() -> None:
    assert clamp_counts(Counts(100.4, 101.2)) == Counts(100.4, 100.4)
    assert clamp_counts(Counts(-0.3, -1e-9)) == Counts(0.0, 0.0)
    assert clamp_counts(Counts(math.nan, 3)) == Counts(0.0, 0.0)
    assert clamp_counts(Counts(50, math.inf)) == Counts(50, 0.0)
    result = compare_error_rates(Counts(300.2, 301.0), Counts(3000, -2), tolerance=1, alpha=0.01)
    assert result.verdict is MetricVerdict.FAIL
    assert result.canary == Counts(300.2, 300.2) and result.stable == Counts(3000, 0.0)
    assert result.upper <= 100.0


def test_the_evidence_is_reported_against_the_tolerance_and_fails_at_one_over_alpha() -> None:
    for failures in range(40):
        result = compare_error_rates(
            Counts(1000, failures), Counts(9000, 45), tolerance=1, alpha=0.01
        )
        fails = result.verdict is MetricVerdict.FAIL
        assert fails == (result.log_evidence >= math.log(100)), failures


def test_a_larger_tau_changes_the_boundary_but_the_keyword_is_honoured() -> None:
    a = compare_error_rates(Counts(100, 30), Counts(900, 5), tolerance=1, alpha=0.01, tau=0.02)
    b = compare_error_rates(Counts(100, 30), Counts(900, 5), tolerance=1, alpha=0.01, tau=0.2)
    assert b.upper - b.lower < a.upper - a.lower


def test_by_step_with_one_step_is_the_plain_comparison() -> None:
    c, s = Counts(900, 40), Counts(8100, 41)
    assert compare_error_rates_by_step(
        [(c, s)], tolerance=1, alpha=0.01
    ) == compare_error_rates(c, s, tolerance=1, alpha=0.01)


def test_an_incident_both_backends_share_cancels_by_step_but_biases_the_cumulative_window() -> None:
    # step 1: 10 % canary, healthy; step 2: 50 % canary during a shared 15 % error incident
    steps = [
        (Counts(6000, 30), Counts(54000, 270)),
        (Counts(30000, 4500), Counts(30000, 4500)),
    ]
    cumulative = compare_error_rates(
        Counts(36000, 4530), Counts(84000, 4770), tolerance=1, alpha=0.01
    )
    assert cumulative.verdict is MetricVerdict.FAIL  # 12.6 % vs 5.7 %: Simpson's paradox
    by_step = compare_error_rates_by_step(steps, tolerance=1, alpha=0.01)
    assert by_step.verdict is MetricVerdict.PASS
    assert by_step.effect == pytest.approx(0.0, abs=1e-9)
    assert by_step.canary == Counts(36000, 4530)


# --- latency -------------------------------------------------------------------------------

BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


def lognormal_histogram(
    requests: float,
    median: float,
    sigma: float = 0.5,
    bounds: tuple[float, ...] = BOUNDS,
    spike: float = 0.0,
    spike_at: float = 0.0,
) -> Histogram:
    """Expected cumulative counts (no noise) of a log-normal latency, with `spike` of the
    requests at `spike_at`."""
    cdf = stats.lognorm(s=sigma, scale=median).cdf
    rows = [
        (le, requests * ((1 - spike) * float(cdf(le)) + (spike if spike_at <= le else 0.0)))
        for le in bounds
    ]
    return Histogram((*rows, (math.inf, requests)))


def latency_gate(
    canary: Histogram,
    stable: Histogram,
    *,
    tolerance: float = 0.5,
    alpha: float = 0.005,
) -> Comparison:
    """`compare_latency` with the gate these tests use unless they say otherwise: a 20%
    slowdown, 0.5 pp of requests tolerated beyond it, alpha 0.005."""
    return compare_latency(canary, stable, slowdown=20, tolerance=tolerance, alpha=alpha)


def test_a_canary_slower_by_half_fails_the_latency_gate() -> None:
    result = latency_gate(lognormal_histogram(3000, 75), lognormal_histogram(27000, 50))
    assert result.verdict is MetricVerdict.FAIL
    assert result.boundary in BOUNDS
    assert result.lower > 0.5
    assert result.canary.requests == 3000 and result.stable.requests == 27000
    assert "p99" in result.summary and "p50" in result.summary
    assert "worse than the tolerated +0.5 pp beyond a 20% slowdown" in result.summary


def test_equal_latency_passes() -> None:
    result = latency_gate(lognormal_histogram(20000, 50), lognormal_histogram(180000, 50))
    assert result.verdict is MetricVerdict.PASS
    assert result.upper < 0.5
    assert "(1.00x)" in result.summary


def test_a_one_percent_spike_beyond_the_largest_finite_bound_fails_with_enough_data() -> None:
    canary = lognormal_histogram(20000, 50, spike=0.01, spike_at=math.inf)
    stable = lognormal_histogram(180000, 50)
    result = latency_gate(canary, stable)
    assert result.verdict is MetricVerdict.FAIL
    assert result.boundary == 2500.0
    assert result.effect == pytest.approx(1.0, abs=0.05)
    assert "p99 above 2,500" in result.summary
    # with few requests the same spike is not yet conclusive
    few = latency_gate(
        lognormal_histogram(300, 50, spike=0.01, spike_at=math.inf), lognormal_histogram(2700, 50)
    )
    assert few.verdict is MetricVerdict.INCONCLUSIVE


def test_differing_bucket_bounds_are_compared_by_interpolating_stables_buckets() -> None:
    fine = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0)
    # linear interpolation within stable's coarser buckets is not exact below the median (the
    # CDF is convex there): +0.4 pp at 20 ms, so a 1 pp tolerance passes given enough requests
    same = latency_gate(
        lognormal_histogram(100000, 50, bounds=fine), lognormal_histogram(900000, 50), tolerance=1.0
    )
    assert same.verdict is MetricVerdict.PASS
    slower = latency_gate(
        lognormal_histogram(20000, 80, bounds=fine), lognormal_histogram(180000, 50)
    )
    assert slower.verdict is MetricVerdict.FAIL
    assert slower.boundary in fine


def test_boundaries_beyond_stables_buckets_are_not_tested() -> None:
    canary = lognormal_histogram(5000, 50, bounds=(*BOUNDS, 10000.0, 60000.0))
    stable = lognormal_histogram(45000, 50)
    result = latency_gate(canary, stable)
    assert result.verdict is MetricVerdict.PASS
    assert "at each of 9 boundaries" in result.summary  # 60000/1.2 lies beyond 2500


def test_latency_without_data_is_inconclusive() -> None:
    empty = Histogram(tuple((le, 0.0) for le in (*BOUNDS, math.inf)))
    result = latency_gate(empty, empty)
    assert result.verdict is MetricVerdict.INCONCLUSIVE
    assert result.summary.startswith("no requests yet")
    assert result.boundary is None
    none = latency_gate(Histogram(()), Histogram(()), alpha=0.01)
    assert none.summary.startswith("no comparable bucket boundaries")


def test_inconsistent_histograms_are_made_monotone() -> None:
    rows = list(lognormal_histogram(20000, 50).buckets)
    rows[3] = (rows[3][0], rows[3][1] + 500)  # a bucket above the next one
    rows.append((float("nan"), 7.0))
    result = latency_gate(Histogram(tuple(rows)), lognormal_histogram(180000, 50))
    assert result.verdict in (MetricVerdict.PASS, MetricVerdict.INCONCLUSIVE)


def test_latency_by_step_with_one_step_is_the_plain_comparison() -> None:
    c, s = lognormal_histogram(3000, 75), lognormal_histogram(27000, 50)
    assert compare_latency_by_step(
        [(c, s)], slowdown=20, tolerance=0.5, alpha=0.005
    ) == compare_latency(c, s, slowdown=20, tolerance=0.5, alpha=0.005)


def test_a_rate_that_rounds_below_zero_is_printed_as_zero() -> None:
    from canary.core.sequential import _pct

    assert _pct(-1e-7) == "0%"
    assert _pct(0.0) == "0%"
    assert _pct(0.004) == "0.4%"
    assert _pct(0.0004) == "0.04%"
