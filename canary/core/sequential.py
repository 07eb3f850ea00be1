"""Anytime-valid comparison of a canary with its stable backend: the statistics behind the
comparison gates, looked at every few seconds without inflating false alarms.

Each look gets the counts accumulated since the rollout started shifting traffic (the same
window for both backends) and returns a `Comparison`: a verdict (Fail: conclusive harm beyond
the tolerance; Pass: conclusively within it; Inconclusive: not enough evidence yet), the effect,
a confidence sequence for it, the evidence, and the samples.

The method: the mixture sequential probability ratio test (mSPRT) with a normal mixing
distribution for a difference of two proportions with a plug-in variance (Johari, Koomen,
Pekelis, Walsh, "Peeking at A/B Tests", KDD 2017; "Always Valid Inference", Operations Research
2022; Robbins 1970), and the confidence sequence it implies (Howard, Ramdas, McAuliffe, Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of Statistics 2021).
docs/judgement.md ("The statistics, for the curious") derives it; docs/benchmarks.md measures it.

When the traffic split changes within the window (rollout steps), an incident both backends
share biases the cumulative comparison (the canary's counts hold more of the later traffic);
the `*_by_step` functions take the counts split by step and cancel it. The operator should use
them; `compare_error_rates` and `compare_latency` are their one-window forms.

Pure: stdlib `math` only (the unit tests check the closed forms against scipy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from canary.api.status import MetricVerdict


@dataclass(frozen=True)
class Counts:
    """Requests of one backend in the window, and the failures among them (errors; or, for a
    latency comparison, requests slower than a bucket boundary)."""

    requests: float
    failures: float


@dataclass(frozen=True)
class Histogram:
    """One backend's latency histogram over the window: cumulative request counts per upper
    bound `le`, ascending, as Prometheus buckets are (the last one may be +Inf)."""

    buckets: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Comparison:
    """The result of one look at one comparison."""

    verdict: MetricVerdict
    """FAIL: conclusive evidence that the canary is worse than stable by more than the
    tolerance; PASS: conclusive evidence that it is not; INCONCLUSIVE: neither yet."""
    effect: float
    """Estimated canary minus stable, in percentage points of requests (error rate; for
    latency, the share of requests slower than `boundary`, against stable's share slower than
    `boundary` divided by the tolerated slowdown)."""
    lower: float
    """Lower end of the confidence sequence for the effect at this look (percentage points)."""
    upper: float
    """Upper end of the confidence sequence for the effect at this look (percentage points)."""
    tolerance: float
    """The tolerated effect in percentage points: FAIL when `lower` exceeds it, PASS when
    `upper` is below it."""
    log_evidence: float
    """Natural log of the mixture likelihood ratio (an e-value) against "the effect is at most
    the tolerance"; FAIL once it reaches log(1/alpha) with the estimate above the tolerance."""
    canary: Counts
    """The canary's samples (for latency: requests, and those slower than `boundary`)."""
    stable: Counts
    """The stable's samples (for latency: requests, and those slower than the shifted
    boundary)."""
    boundary: float | None
    """Latency only: the bucket boundary where the evidence is strongest (the histogram's
    unit); None for error rates."""
    summary: str
    """One sentence for the status and the CLI, e.g. `canary 31.2% errors vs stable 0.4%
    (+30.8 pp, 99% CS [+24.1, +37.5]) over 1,812 and 16,490 requests: worse than the
    tolerated +1 pp`."""


DEFAULT_TAU = 0.05
"""Default standard deviation of the normal mixing distribution over the effect (a fraction of
requests, i.e. 5 percentage points). The mSPRT is most powerful for effects of about tau
(Johari et al. 2022, section 4): harmful canaries we must catch fast are a few to tens of
percentage points worse, and a larger tau decides a 30 % error canary from ~75 requests where
tau = 0.02 needs ~200, at a small price for effects near the tolerance (the log penalty grows
only like log(tau))."""

MIN_REQUESTS = 30.0
"""Fewer requests than this on either side: Inconclusive. The plug-in variance and the normal
approximation behind the mixture likelihood ratio need some counts."""


def _finite(value: float) -> float:
    """A NaN or infinite count counts as none (`canary.core.comparisons` has its own `_finite`,
    which keeps infinities as ±1e6 for JSON: not the same rule)."""
    return value if math.isfinite(value) else 0.0


def clamp_counts(counts: Counts) -> Counts:
    """Counts as Prometheus' `increase()` gives them can be slightly inconsistent (extrapolated
    floats, counter resets): negative or NaN requests count as none, failures are kept within
    [0, requests]."""
    requests = max(0.0, _finite(counts.requests))
    failures = min(max(0.0, _finite(counts.failures)), requests)
    return Counts(requests=requests, failures=failures)


def plug_in_variance(canary: Counts, stable: Counts) -> float:
    """V = p~c(1-p~c)/nc + p~s(1-p~s)/ns, the variance of the difference of the two observed
    proportions, with p~ = (x + 0.5)/(n + 1) so that no failures (or only failures) do not make
    it 0. Both sides must have requests."""

    def one(c: Counts) -> float:
        p = (c.failures + 0.5) / (c.requests + 1.0)
        return p * (1.0 - p) / c.requests

    return one(canary) + one(stable)


def log_mixture_ratio(estimate: float, theta0: float, variance: float, tau: float) -> float:
    """log Lambda(theta0), the mixture likelihood ratio of the mSPRT with a normal mixing
    distribution N(theta0, tau^2) (Johari, Koomen, Pekelis, Walsh, "Peeking at A/B Tests",
    KDD 2017; "Always Valid Inference", Operations Research 2022; Robbins 1970):

        Lambda(theta0) = sqrt(V/(V+tau^2)) * exp(tau^2 (estimate-theta0)^2 / (2 V (V+tau^2)))

    the integral over theta ~ N(theta0, tau^2) of N(estimate; theta, V) / N(estimate; theta0, V).
    Under theta = theta0 it is (asymptotically) a nonnegative martingale with mean 1, so by
    Ville's inequality it ever reaches 1/alpha with probability at most alpha."""
    t2 = tau * tau
    d = estimate - theta0
    return 0.5 * math.log(variance / (variance + t2)) + t2 * d * d / (
        2.0 * variance * (variance + t2)
    )


def confidence_radius(variance: float, tau: float, alpha: float) -> float:
    """Half-width of the confidence sequence {theta0 : Lambda(theta0) < 1/alpha} around the
    estimate (Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric, nonasymptotic
    confidence sequences", Annals of Statistics 2021, the normal-mixture boundary):

        r = sqrt( V (V+tau^2)/tau^2 * (2 log(1/alpha) + log((V+tau^2)/V)) )

    It covers the true effect at every look at once with probability at least 1 - alpha."""
    t2 = tau * tau
    return math.sqrt(
        variance
        * (variance + t2)
        / t2
        * (2.0 * math.log(1.0 / alpha) + math.log((variance + t2) / variance))
    )


def confidence_sequence(
    canary: Counts, stable: Counts, *, alpha: float, tau: float = DEFAULT_TAU
) -> tuple[float, float, float]:
    """(estimate, lower, upper) of p_canary - p_stable as fractions, the (1-alpha) confidence
    sequence at this look (clipped to [-1, 1]). Both sides must have requests."""
    c, s = clamp_counts(canary), clamp_counts(stable)
    estimate = c.failures / c.requests - s.failures / s.requests
    radius = confidence_radius(plug_in_variance(c, s), tau, alpha)
    return estimate, max(-1.0, estimate - radius), min(1.0, estimate + radius)


@dataclass(frozen=True)
class _Test:
    verdict: MetricVerdict
    estimate: float  # fractions, as the three below
    lower: float
    upper: float
    log_evidence: float


Pair = tuple[Counts, Counts]


def _two_proportions(
    strata: Sequence[Pair], tolerance: float, alpha: float, tau: float
) -> _Test | None:
    """The one test behind both gates; `tolerance` as a fraction. None: too little data.

    Over strata (periods of constant traffic split, e.g. rollout steps) the effect is the
    canary-request-weighted mean of the per-stratum differences, sum a_k (p_ck - p_sk) with
    a_k = n_ck / n_c, and its variance sum a_k^2 V_k; one stratum is the plain difference."""
    usable = [(c, s) for c, s in strata if c.requests > 0 and s.requests > 0]
    nc = sum(c.requests for c, _ in usable)
    ns = sum(s.requests for _, s in usable)
    if nc < MIN_REQUESTS or ns < MIN_REQUESTS:
        return None
    estimate = 0.0
    variance = 0.0
    for c, s in usable:
        a = c.requests / nc
        estimate += a * (c.failures / c.requests - s.failures / s.requests)
        variance += a * a * plug_in_variance(c, s)
    radius = confidence_radius(variance, tau, alpha)
    lower, upper = max(-1.0, estimate - radius), min(1.0, estimate + radius)
    evidence = (
        log_mixture_ratio(estimate, tolerance, variance, tau) if estimate > tolerance else 0.0
    )
    if lower > tolerance:
        verdict = MetricVerdict.FAIL
    elif upper < tolerance:
        verdict = MetricVerdict.PASS
    else:
        verdict = MetricVerdict.INCONCLUSIVE
    return _Test(verdict, estimate, lower, upper, max(0.0, evidence))


def _pp(fraction: float) -> float:
    return 100.0 * fraction


def _signed(value: float) -> str:
    return f"{value:+.1f}" if abs(value) >= 0.05 or value == 0 else f"{value:+.2f}"


def _pct(fraction: float) -> str:
    """A rate in percent; never below 0 (the by-step stable rate is derived, and float
    rounding could print `-0.00%`)."""
    value = max(0.0, 100.0 * fraction)
    if value < 0.005:
        return "0%"
    return f"{value:.1f}%" if abs(value) >= 0.1 else f"{value:.2f}%"


def _level(alpha: float) -> str:
    return f"{100.0 * (1.0 - alpha):.4g}%"


def _tol(tolerance: float) -> str:
    return f"+{tolerance:g} pp"


def _judgement(verdict: MetricVerdict, tolerance: float) -> str:
    if verdict is MetricVerdict.FAIL:
        return f"worse than the tolerated {_tol(tolerance)}"
    if verdict is MetricVerdict.PASS:
        return f"within the tolerated {_tol(tolerance)}"
    return f"not yet conclusive against the tolerated {_tol(tolerance)}"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _total(counts: Sequence[Counts]) -> Counts:
    return Counts(sum(c.requests for c in counts), sum(c.failures for c in counts))


def _untested(
    canary: Counts, stable: Counts, *, tolerance: float, summary: str, effect: float = 0.0
) -> Comparison:
    """Too few requests to test: Inconclusive, no evidence, the widest confidence sequence."""
    return Comparison(
        verdict=MetricVerdict.INCONCLUSIVE,
        effect=effect,
        lower=-100.0,
        upper=100.0,
        tolerance=tolerance,
        log_evidence=0.0,
        canary=canary,
        stable=stable,
        boundary=None,
        summary=summary,
    )


def _tested(
    test: _Test,
    verdict: MetricVerdict,
    canary: Counts,
    stable: Counts,
    *,
    tolerance: float,
    boundary: float | None,
    summary: str,
) -> Comparison:
    """The comparison a test concluded in: its estimate and confidence sequence in percentage
    points, its evidence."""
    return Comparison(
        verdict=verdict,
        effect=_pp(test.estimate),
        lower=_pp(test.lower),
        upper=_pp(test.upper),
        tolerance=tolerance,
        log_evidence=test.log_evidence,
        canary=canary,
        stable=stable,
        boundary=boundary,
        summary=summary,
    )


def compare_error_rates(
    canary: Counts,
    stable: Counts,
    *,
    tolerance: float,
    alpha: float,
    tau: float = DEFAULT_TAU,
) -> Comparison:
    """Is the canary's error rate worse than stable's by more than `tolerance` percentage
    points? Anytime-valid at level `alpha` under continuous monitoring.

    The mixture sequential probability ratio test for a difference of two proportions with a
    plug-in variance (Johari, Koomen, Pekelis, Walsh 2017/2022) and the confidence sequence it
    implies (Robbins 1970; Howard et al. 2021): FAIL when the whole (1 - alpha) confidence
    sequence lies above the tolerance, PASS when it lies below, else INCONCLUSIVE. `tau` is the
    mixing distribution's standard deviation as a fraction of requests (`DEFAULT_TAU`).

    Caution: over a window in which the traffic split changes (several rollout steps), an
    incident shared by both backends weighs more in the canary's counts (it gets more of the
    later traffic) and biases the difference; `compare_error_rates_by_step` removes that."""
    return compare_error_rates_by_step(
        [(canary, stable)], tolerance=tolerance, alpha=alpha, tau=tau
    )


def compare_error_rates_by_step(
    steps: Sequence[Pair],
    *,
    tolerance: float,
    alpha: float,
    tau: float = DEFAULT_TAU,
) -> Comparison:
    """`compare_error_rates` over counts split by rollout step (periods of constant traffic
    split; (canary, stable) per step, same windows for both, the current step last): the
    effect is the canary-request-weighted mean of the per-step differences, so that what both
    backends share at a moment (an incident of a dependency, a diurnal drift) cancels even when
    the canary's share of traffic grows from step to step. One step: `compare_error_rates`."""
    pairs = [(clamp_counts(c), clamp_counts(s)) for c, s in steps]
    c, s = _total([p[0] for p in pairs]), _total([p[1] for p in pairs])
    tol = tolerance / 100.0
    test = _two_proportions(pairs, tol, alpha, tau)
    if test is None:
        why = "no requests yet" if c.requests == 0 and s.requests == 0 else "too few requests"
        rc = c.failures / c.requests if c.requests else 0.0
        rs = s.failures / s.requests if s.requests else 0.0
        return _untested(
            c, s, tolerance=tolerance,
            effect=_pp(rc - rs) if c.requests and s.requests else 0.0,
            summary=(
                f"{why} to compare: canary {_n(c.requests)} and stable {_n(s.requests)} "
                f"requests (at least {MIN_REQUESTS:g} on each side are needed)"
            ),
        )
    rc = c.failures / c.requests
    rs = rc - test.estimate  # stable's rate over the canary's time profile
    effect, lower, upper = _pp(test.estimate), _pp(test.lower), _pp(test.upper)
    return _tested(
        test, test.verdict, c, s, tolerance=tolerance, boundary=None,
        summary=(
            f"canary {_pct(rc)} errors vs stable {_pct(rs)} ({_signed(effect)} pp, "
            f"{_level(alpha)} CS [{_signed(lower)}, {_signed(upper)}]) over "
            f"{_n(c.requests)} and {_n(s.requests)} requests: "
            f"{_judgement(test.verdict, tolerance)}"
        ),
    )


def _cumulative(histogram: Histogram) -> tuple[list[tuple[float, float]], float]:
    """The finite buckets (ascending, counts made nonnegative and monotone as counters from
    `increase()` should be) and the total (the +Inf bucket, or the last one)."""
    buckets = sorted(
        ((le, max(0.0, _finite(count))) for le, count in histogram.buckets if not math.isnan(le)),
        key=lambda b: b[0],
    )
    running = 0.0
    finite: list[tuple[float, float]] = []
    total = 0.0
    for le, count in buckets:
        running = max(running, count)
        if math.isinf(le):
            if le > 0:
                total = running
            continue
        finite.append((le, running))
        total = running
    return finite, total


def _at_or_below(finite: list[tuple[float, float]], value: float) -> float | None:
    """Cumulative count at `value`, interpolated linearly within its bucket as Prometheus'
    histogram_quantile does (the first bucket starts at 0). None beyond the last finite bound."""
    lo, below = 0.0, 0.0
    for le, count in finite:
        if value <= le:
            if le <= lo:
                return count
            return below + (count - below) * max(0.0, value - lo) / (le - lo)
        lo, below = le, count
    return None


def _quantile(finite: list[tuple[float, float]], total: float, q: float) -> float | None:
    """histogram_quantile: linear within the bucket; None when it falls beyond the last finite
    bound (Prometheus would say that bound) or there is no data."""
    if total <= 0 or not finite:
        return None
    rank = q * total
    lo, below = 0.0, 0.0
    for le, count in finite:
        if count >= rank:
            if count == below:
                return le
            return lo + (le - lo) * (rank - below) / (count - below)
        lo, below = le, count
    return None


def _merge(
    histograms: Sequence[tuple[list[tuple[float, float]], float]],
) -> tuple[list[tuple[float, float]], float]:
    """Sum of cumulative histograms over the bounds they all have."""
    common = set.intersection(*({le for le, _ in f} for f, _ in histograms))
    merged = [(le, sum(dict(f)[le] for f, _ in histograms)) for le in sorted(common)]
    return merged, sum(t for _, t in histograms)


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _quantiles_text(
    cf: list[tuple[float, float]], ct: float, sf: list[tuple[float, float]], st: float
) -> str:
    parts = []
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        a, b = _quantile(cf, ct, q), _quantile(sf, st, q)
        if a is not None and b is not None:
            ratio = f" ({a / b:.2f}x)" if b > 0 else ""
            parts.append(f"{name} {_ms(a)} vs {_ms(b)}{ratio}")
        elif a is None and b is not None and cf and ct > 0:
            parts.append(f"{name} above {_ms(cf[-1][0])} vs {_ms(b)}")
    return "; " + ", ".join(parts) if parts else ""


def compare_latency(
    canary: Histogram,
    stable: Histogram,
    *,
    slowdown: float,
    tolerance: float,
    alpha: float,
    tau: float = DEFAULT_TAU,
) -> Comparison:
    """Is the canary's latency distribution worse than stable's by more than `slowdown`
    percent (relative), allowing `tolerance` percentage points of requests beyond it?
    Anytime-valid at level `alpha` under continuous monitoring, over every bucket boundary.

    The null: for every canary boundary b, P_c(L > b) <= P_s(L > b/(1+slowdown/100)) +
    tolerance/100, stable's share interpolated linearly within its bucket. Each finite canary
    boundary whose shifted value lies within stable's finite buckets is one two-proportion
    mSPRT as in `compare_error_rates` ("failures": requests slower than the boundary), at
    alpha/K for the K such boundaries (Bonferroni; K depends on the bounds only, never on the
    data, so the family stays anytime-valid). FAIL if any boundary fails, PASS if all pass;
    the reported boundary is the one with the strongest evidence (for PASS: the one closest to
    failing). The summary's quantiles are histogram_quantile's, in the histogram's unit."""
    return compare_latency_by_step(
        [(canary, stable)], slowdown=slowdown, tolerance=tolerance, alpha=alpha, tau=tau
    )


def compare_latency_by_step(
    steps: Sequence[tuple[Histogram, Histogram]],
    *,
    slowdown: float,
    tolerance: float,
    alpha: float,
    tau: float = DEFAULT_TAU,
) -> Comparison:
    """`compare_latency` over histograms split by rollout step ((canary, stable) per step, the
    same bucket bounds in every step), combined per boundary as `compare_error_rates_by_step`
    does. The boundaries tested (and K) are those of the first step's histograms."""
    if not steps:
        steps = [(Histogram(()), Histogram(()))]
    parsed = [(_cumulative(c), _cumulative(s)) for c, s in steps]
    (cf0, _), (sf0, _) = parsed[0]
    tol = tolerance / 100.0
    factor = 1.0 + slowdown / 100.0
    eligible = [b for b, _ in cf0 if b > 0 and sf0 and b / factor <= sf0[-1][0]]
    cf, ct = _merge([p[0] for p in parsed])
    sf, st = _merge([p[1] for p in parsed])
    quantiles = _quantiles_text(cf, ct, sf, st)
    each = alpha / max(1, len(eligible))
    results: list[tuple[float, _Test, Counts, Counts]] = []
    for b in eligible:
        strata: list[Pair] = []
        for (cfk, ctk), (sfk, stk) in parsed:
            c_below, s_below = _at_or_below(cfk, b), _at_or_below(sfk, b / factor)
            if c_below is None or s_below is None:
                continue
            strata.append(
                (Counts(ctk, max(0.0, ctk - c_below)), Counts(stk, max(0.0, stk - s_below)))
            )
        test = _two_proportions(strata, tol, each, tau)
        if test is not None:
            results.append(
                (b, test, _total([p[0] for p in strata]), _total([p[1] for p in strata]))
            )
    if not results:
        why = (
            "no comparable bucket boundaries"
            if not eligible
            else ("no requests yet" if ct == 0 and st == 0 else "too few requests")
        )
        return _untested(
            Counts(ct, 0.0), Counts(st, 0.0), tolerance=tolerance,
            summary=(
                f"{why} to compare latency: canary {_n(ct)} and stable {_n(st)} requests "
                f"(at least {MIN_REQUESTS:g} on each side are needed){quantiles}"
            ),
        )
    verdicts = {t.verdict for _, t, _, _ in results}
    if MetricVerdict.FAIL in verdicts:
        verdict = MetricVerdict.FAIL
        pool = [r for r in results if r[1].verdict is MetricVerdict.FAIL]
        b, test, c, s = max(pool, key=lambda r: (r[1].log_evidence, r[1].lower))
    elif verdicts == {MetricVerdict.PASS} and len(results) == len(eligible):
        verdict = MetricVerdict.PASS
        b, test, c, s = max(results, key=lambda r: r[1].upper)
    else:
        verdict = MetricVerdict.INCONCLUSIVE
        b, test, c, s = max(results, key=lambda r: (r[1].log_evidence, r[1].upper))
    effect, lower, upper = _pp(test.estimate), _pp(test.lower), _pp(test.upper)
    share_c = c.failures / c.requests
    return _tested(
        test, verdict, c, s, tolerance=tolerance, boundary=b,
        summary=(
            f"canary {_pct(share_c)} of requests slower than {_ms(b)} vs stable "
            f"{_pct(share_c - test.estimate)} slower than {_ms(b / factor)} "
            f"({_signed(effect)} pp, {_level(each)} CS [{_signed(lower)}, {_signed(upper)}] "
            f"at each of {len(eligible)} boundaries) over {_n(c.requests)} and "
            f"{_n(s.requests)} requests: {_judgement(verdict, tolerance)} beyond a "
            f"{slowdown:g}% slowdown{quantiles}"
        ),
    )
