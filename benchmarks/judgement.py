"""How well do comparison gates judge a canary? A simulation of thousands of rollouts, no cluster.

Three ways to judge the same simulated rollouts:

(a) Flagger-style: at the end of each step interval, over the last interval only: success rate
    >= 99 % and p99 (histogram_quantile over the canary's buckets) <= 1.2 x stable's nominal
    p99; a failed check holds the step, 2 failed checks (cumulative) roll back; a passed check
    advances the step.
(b) Kayenta-style: at the end of each step interval, one-sided Mann-Whitney U tests
    (scipy.stats.mannwhitneyu, asymptotic) of the canary's per-10 s error rates and per-10 s
    p99s against stable's over that interval (6 samples each); a metric fails on p < 0.01 in
    the harmful direction; the score is the share of the two metrics that pass and the
    interval fails below 100 % (Kayenta's marginal/pass thresholds simplified to "every
    metric passes"); a failed interval rolls back, a passed one advances.
(c) Ours: canary.core.sequential.compare_error_rates_by_step and compare_latency_by_step on
    the counts accumulated since the canary's first traffic, split by step, at every look
    (every 5 s, at a random lag after each scrape), alpha = 0.01 split over the two gates (0.005
    each), tau 0.05, error tolerance 1 pp and 0.5 pp (one row set each), latency 20 % slowdown
    plus 0.5 pp; rollback at the first Fail; at a step's end both gates must Pass to advance,
    otherwise the step is held and re-checked at the next look. The rows "ours 1pp cumul" use
    one window since the start instead (compare_error_rates / compare_latency on cumulative
    counts): a shared incident during a later step biases it (Simpson's paradox).

The rollout: steps of 10, 20, 30, 40, 50 % canary weight, 1 min each, then promotion. The
traffic rate R is the canary's: R requests/s reach the canary at the first step (10 %), so the
route carries 10 R; later steps give the canary its weight's share of the route (2 R ... 5 R),
stable the rest. Prometheus scrapes every 5 s (at a random phase to the canary's start); a
method sees a counter only once a scrape holds it. Requests are Poisson; errors binomial with
~0.5 % base rate; latency log-normal (median 50 ms, sigma 0.5: p99 160 ms) counted into Envoy's
default histogram buckets. Stable and canary share a diurnal drift (traffic and error rate x
(1 +/- 0.5) over a day, random phase) and, in 10 % of rollouts, a shared incident: a dependency
fails for both, the error rate jumps to 5-20 % for 60-120 s starting in the first 5 minutes.

Scenarios (present from the canary's first request): healthy; +2 pp errors; +50 % latency
(every quantile x 1.5, so p99 +50 %); 30 % errors; a latency spike on 1 % of requests (~3 s).

A rollout not finished (promoted or rolled back) within 3x its nominal length (15 min) counts
as "held for lack of evidence". The fault time is the canary's first request; the 30 %-error
reaction is also measured from the first scrape that holds canary data.

Ours is computed vectorised over the rollouts with the same formulas as canary.core.sequential
(for speed); a random sample of looks (--spot-check, 2 % by default) is also judged by the
module's functions and must give the same verdicts, or the run stops.

    .venv/bin/python benchmarks/judgement.py [--rollouts 1000] [--rates 1,10,60,100,1000]
    .venv/bin/python benchmarks/judgement.py --quick
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

from canary.api.results import MetricVerdict
from canary.core.sequential import (
    DEFAULT_TAU,
    MIN_REQUESTS,
    Counts,
    Histogram,
    compare_error_rates,
    compare_error_rates_by_step,
    compare_latency_by_step,
)

Array = npt.NDArray[np.float64]

ENVOY_BOUNDS_MS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
BOUNDS = np.array(ENVOY_BOUNDS_MS, dtype=float)
NB = len(BOUNDS) + 1  # the finite buckets and +Inf

PROMOTED, ROLLED_BACK, HELD = 0, 1, 2


@dataclass(frozen=True)
class Settings:
    rollouts: int = 1000
    rates: tuple[float, ...] = (1, 10, 60, 100, 1000)
    weights: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
    interval: float = 60.0
    scrape: float = 5.0
    look: float = 5.0
    alpha: float = 0.01
    tau: float = DEFAULT_TAU
    error_tolerances: tuple[float, ...] = (1.0, 0.5)  # pp; one "ours" row set per tolerance
    slowdown: float = 20.0  # percent
    latency_tolerance: float = 0.5  # pp
    base_error: float = 0.005
    median_ms: float = 50.0
    sigma: float = 0.5
    incident_share: float = 0.1
    hold_factor: float = 3.0
    spot_check: float = 0.02
    seed: int = 1

    @property
    def nominal(self) -> float:
        return len(self.weights) * self.interval

    @property
    def horizon(self) -> float:
        return self.hold_factor * self.nominal


@dataclass(frozen=True)
class Scenario:
    name: str
    harmful: bool
    error: float | None = None  # absolute canary error rate
    extra_error: float = 0.0  # added to the base (drifting) rate
    latency_scale: float = 1.0
    spike_share: float = 0.0


SCENARIOS = (
    Scenario("healthy", harmful=False),
    Scenario("+2pp errors", harmful=True, extra_error=0.02),
    Scenario("+50% latency", harmful=True, latency_scale=1.5),
    Scenario("30% errors", harmful=True, error=0.30),
    Scenario("1% spike", harmful=True, spike_share=0.01),
)


def _lognormal_cdf(x: Array, median: float, sigma: float) -> Array:
    z = (np.log(x) - math.log(median)) / (sigma * math.sqrt(2.0))
    return np.asarray(0.5 * (1.0 + np.vectorize(math.erf)(z)), dtype=float)


def bucket_probabilities(s: Settings, scenario: Scenario | None) -> Array:
    """P(latency in each bucket), the +Inf bucket last."""
    scale = scenario.latency_scale if scenario else 1.0
    cdf = _lognormal_cdf(BOUNDS, s.median_ms * scale, s.sigma)
    if scenario and scenario.spike_share:
        spike = _lognormal_cdf(BOUNDS, 3000.0, 0.2)
        cdf = (1 - scenario.spike_share) * cdf + scenario.spike_share * spike
    cdf = np.append(cdf, 1.0)
    return np.diff(np.concatenate(([0.0], cdf)))


def histogram_quantile(q: float, buckets: Array) -> Array:
    """Prometheus' histogram_quantile over rows of per-bucket counts (+Inf last): linear within
    the bucket, the first bucket from 0, the largest finite bound for the +Inf bucket; NaN for
    no data."""
    cum = np.cumsum(buckets, axis=-1)
    total = cum[..., -1]
    rank = q * total
    idx = np.argmax(cum >= rank[..., None], axis=-1)
    idx = np.minimum(idx, len(BOUNDS) - 1 + 1)
    inf_bucket = idx >= len(BOUNDS)
    i = np.minimum(idx, len(BOUNDS) - 1)
    hi = BOUNDS[i]
    lo = np.where(i > 0, BOUNDS[np.maximum(i - 1, 0)], 0.0)
    below = np.where(i > 0, np.take_along_axis(cum, np.maximum(i - 1, 0)[..., None], -1)[..., 0], 0)
    at = np.take_along_axis(cum, i[..., None], -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(at > below, lo + (hi - lo) * (rank - below) / (at - below), hi)
    value = np.where(inf_bucket, BOUNDS[-1], value)
    return np.where(total > 0, value, np.nan)


def interpolation_matrix(slowdown: float) -> Array:
    """Rows: each finite boundary b; applied to stable's cumulative counts (finite buckets) it
    gives the count at or below b/(1+slowdown), linear within the bucket (first from 0)."""
    k = len(BOUNDS)
    m = np.zeros((k, k))
    for row, b in enumerate(BOUNDS):
        x = b / (1.0 + slowdown / 100.0)
        j = int(np.searchsorted(BOUNDS, x, side="left"))
        lo = BOUNDS[j - 1] if j > 0 else 0.0
        frac = (x - lo) / (BOUNDS[j] - lo)
        m[row, j] += frac
        if j > 0:
            m[row, j - 1] += 1.0 - frac
    return m


# --- the statistics, vectorised (same formulas as canary.core.sequential) -----------------


def _verdicts(
    nc: Array, xc: Array, ns: Array, xs: Array, tol: float, alpha: float, tau: float
) -> npt.NDArray[np.int8]:
    """-1 Fail, 1 Pass, 0 Inconclusive; strata (steps) on the last axis, as
    canary.core.sequential._two_proportions combines them."""
    xc = np.clip(xc, 0, nc)
    xs = np.clip(xs, 0, ns)
    usable = (nc > 0) & (ns > 0)
    nc, ns = np.where(usable, nc, 0.0), np.where(usable, ns, 0.0)
    tc, ts = nc.sum(axis=-1), ns.sum(axis=-1)
    ok = (tc >= MIN_REQUESTS) & (ts >= MIN_REQUESTS)
    ncs, nss = np.where(usable, nc, 1.0), np.where(usable, ns, 1.0)
    a = nc / np.where(ok, tc, 1.0)[..., None]
    pc, ps = (xc + 0.5) / (ncs + 1.0), (xs + 0.5) / (nss + 1.0)
    v = (a * a * (pc * (1 - pc) / ncs + ps * (1 - ps) / nss)).sum(axis=-1)
    est = (a * (xc / ncs - xs / nss)).sum(axis=-1)
    v = np.where(ok, v, 1.0)
    t2 = tau * tau
    r = np.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + np.log((v + t2) / v)))
    lower, upper = np.maximum(-1.0, est - r), np.minimum(1.0, est + r)
    out = np.where(lower > tol, -1, np.where(upper < tol, 1, 0)).astype(np.int8)
    return np.where(ok, out, 0).astype(np.int8)


def ours_errors(err: Array, tol_pp: float, alpha: float, tau: float) -> Array:
    """err: (n, strata, 4) canary requests, errors, stable requests, errors."""
    e = err.transpose(2, 0, 1)
    return _verdicts(e[0], e[1], e[2], e[3], tol_pp / 100, alpha, tau).astype(float)


def ours_latency(lat: Array, matrix: Array, tol_pp: float, alpha: float, tau: float) -> Array:
    """lat: (n, strata, 2, buckets) per-bucket counts, canary then stable."""
    ccum, scum = np.cumsum(lat[:, :, 0], axis=-1), np.cumsum(lat[:, :, 1], axis=-1)
    ct, st = ccum[..., -1:], scum[..., -1:]
    shifted = scum[..., :-1] @ matrix.T
    k = len(BOUNDS)
    shape = (*ct.shape[:-1], k)
    # boundaries on the second-to-last axis, strata last
    v = _verdicts(
        np.swapaxes(np.broadcast_to(ct, shape), -1, -2),
        np.swapaxes(ct - ccum[..., :-1], -1, -2),
        np.swapaxes(np.broadcast_to(st, shape), -1, -2),
        np.swapaxes(np.maximum(0.0, st - shifted), -1, -2),
        tol_pp / 100,
        alpha / k,
        tau,
    )
    return np.where((v == -1).any(axis=1), -1.0, np.where((v == 1).all(axis=1), 1.0, 0.0))


# --- the simulation ----------------------------------------------------------------------


@dataclass
class Outcome:
    outcome: npt.NDArray[np.int64]
    decided: Array  # seconds from the canary's first request (NaN: not decided)
    first_scrape: Array  # the first scrape holding canary data, same clock
    incident: npt.NDArray[np.bool_]
    spot_checked: int = 0


@dataclass
class World:
    """Per-rollout randomness shared by every method (common random numbers)."""

    phase: Array  # first scrape after the canary's first request
    lag: Array  # our look's lag after each scrape
    day: Array  # diurnal phase, seconds
    incident: npt.NDArray[np.bool_]
    inc_start: Array
    inc_end: Array
    inc_level: Array
    seed: int


def make_world(s: Settings, n: int, seed: int) -> World:
    rng = np.random.default_rng(seed)
    incident = rng.random(n) < s.incident_share
    start = rng.uniform(0, s.nominal, n)
    return World(
        phase=rng.uniform(0, s.scrape, n) + 1e-9,
        lag=rng.uniform(0, s.look, n),
        day=rng.uniform(0, 86400, n),
        incident=incident,
        inc_start=np.where(incident, start, np.inf),
        inc_end=np.where(incident, start + rng.uniform(60, 120, n), np.inf),
        inc_level=rng.uniform(0.05, 0.20, n),
        seed=seed,
    )


@dataclass
class Method:
    name: str
    kind: str  # flagger | kayenta | ours
    error_tolerance: float = 1.0
    by_step: bool = True  # ours: counts split by step (else one window since the start)


@dataclass
class Sim:
    s: Settings
    scenario: Scenario
    rate: float
    method: Method
    world: World
    p_stable: Array = field(init=False)
    p_canary: Array = field(init=False)
    stable_p99: float = field(init=False)

    def __post_init__(self) -> None:
        self.p_stable = bucket_probabilities(self.s, None)
        self.p_canary = bucket_probabilities(self.s, self.scenario)
        self.stable_p99 = float(histogram_quantile(0.99, self.p_stable[None, :] * 1e6)[0])


def _combine(a: Array, b: Array) -> Array:
    return 1.0 - (1.0 - a) * (1.0 - b)


def run(sim: Sim) -> Outcome:
    s, sc, w, m = sim.s, sim.scenario, sim.world, sim.method
    n = len(w.phase)
    rng = np.random.default_rng([w.seed, int(sim.rate * 1000), SCENARIOS.index(sc), 7])
    spot = np.random.default_rng([w.seed, 99])
    steps = np.array(s.weights)
    intervals = math.ceil(s.horizon / s.scrape) + 2
    per_window = round(s.interval / s.scrape)
    # per-interval increments, kept for the windowed methods: requests, errors, buckets
    hist_err = np.zeros((n, intervals, 4))
    hist_lat = np.zeros((n, intervals, 2, NB))
    strata = len(steps) if m.by_step else 1
    cum_err = np.zeros((n, strata, 4))  # canary requests, errors, stable requests, errors
    cum_lat = np.zeros((n, strata, 2, NB))
    rows = np.arange(n)
    step = np.zeros(n, dtype=int)
    step_start = np.zeros(n)
    failed = np.zeros(n, dtype=int)
    next_check = np.full(n, s.interval)
    outcome = np.full(n, HELD)
    decided = np.full(n, np.nan)
    active = np.ones(n, dtype=bool)
    matrix = interpolation_matrix(s.slowdown)
    alpha_gate = s.alpha / 2
    checked = 0
    for j in range(intervals):
        t_end = w.phase + s.scrape * j
        t_start = np.maximum(0.0, t_end - s.scrape)
        mid = (t_start + t_end) / 2
        dur = t_end - t_start
        drift = 1.0 + 0.5 * np.sin(2 * np.pi * (w.day + mid) / 86400)
        weight = steps[np.minimum(step, len(steps) - 1)]
        route = sim.rate / steps[0] * drift * dur
        mc, ms = route * weight, route * (1 - weight)
        base = s.base_error * drift
        shared = np.where((mid >= w.inc_start) & (mid < w.inc_end), w.inc_level, 0.0)
        e_stable = _combine(base, shared)
        own = np.full(n, sc.error) if sc.error is not None else base + sc.extra_error
        e_canary = _combine(own, shared)
        nc = rng.poisson(mc).astype(float)
        ns = rng.poisson(ms).astype(float)
        xc = rng.binomial(nc.astype(np.int64), e_canary).astype(float)
        xs = rng.binomial(ns.astype(np.int64), e_stable).astype(float)
        bc = rng.poisson(mc[:, None] * sim.p_canary[None, :])
        bs = rng.poisson(ms[:, None] * sim.p_stable[None, :])
        # latency counts follow the requests' totals closely enough: Poisson per bucket
        inc = np.stack([nc, xc, ns, xs], axis=1)
        inc[~active] = 0
        bc[~active] = 0
        bs[~active] = 0
        hist_err[:, j] = inc
        hist_lat[:, j, 0], hist_lat[:, j, 1] = bc, bs
        stratum = np.minimum(step, strata - 1)
        cum_err[rows, stratum] += inc
        cum_lat[rows, stratum, 0] += bc
        cum_lat[rows, stratum, 1] += bs

        if m.kind == "ours":
            now = t_end + w.lag
            idx = np.flatnonzero(active)
            if len(idx) == 0:
                break
            ve = ours_errors(cum_err[idx], m.error_tolerance, alpha_gate, s.tau)
            vl = ours_latency(cum_lat[idx], matrix, s.latency_tolerance, alpha_gate, s.tau)
            for k in np.flatnonzero(spot.random(len(idx)) < s.spot_check):
                checked += 1
                _spot_check(s, m, cum_err[idx[k]], cum_lat[idx[k]], ve[k], vl[k])
            fail = (ve < 0) | (vl < 0)
            passed = (ve > 0) & (vl > 0)
            now_i = now[idx]
            end_of_step = now_i >= step_start[idx] + s.interval
            rb = idx[fail]
            outcome[rb], decided[rb] = ROLLED_BACK, now_i[fail]
            adv = idx[~fail & end_of_step & passed]
            step[adv] += 1
            step_start[adv] = now[adv]
            done = adv[step[adv] >= len(steps)]
            outcome[done], decided[done] = PROMOTED, now[done]
            active[rb] = False
            active[done] = False
        else:
            # a check at next_check sees the scrapes up to it; run it at the last scrape before
            due = active & (t_end <= next_check) & (t_end + s.scrape > next_check)
            idx = np.flatnonzero(due)
            if len(idx):
                lo = max(0, j - per_window + 1)
                window_err = hist_err[idx, lo : j + 1]
                window_lat = hist_lat[idx, lo : j + 1]
                if m.kind == "flagger":
                    ok = _flagger(sim, window_err, window_lat)
                else:
                    ok = _kayenta(window_err, window_lat)
                nowc = next_check[idx]
                good, bad = idx[ok], idx[~ok]
                step[good] += 1
                failed[bad] += 1
                rb = bad if m.kind == "kayenta" else bad[failed[bad] >= 2]
                outcome[rb], decided[rb] = ROLLED_BACK, next_check[rb]
                done = good[step[good] >= len(steps)]
                outcome[done], decided[done] = PROMOTED, next_check[done]
                active[rb] = False
                active[done] = False
                next_check[idx] = nowc + s.interval
        if not active.any():
            break
    held = active
    outcome[held] = HELD
    over = decided > s.horizon
    outcome[over & (outcome != HELD)] = HELD
    decided[over] = np.nan
    return Outcome(outcome, decided, w.phase.copy(), w.incident.copy(), checked)


def _spot_check(s: Settings, m: Method, err: Array, lat: Array, ve: float, vl: float) -> None:
    """The module itself must agree with the vectorised formulas (err: (strata, 4), lat:
    (strata, 2, buckets); only the strata the rollout has reached)."""
    used = max(1, int(np.flatnonzero(err[:, 0] + err[:, 2] > 0).max(initial=0)) + 1)
    got_e = compare_error_rates_by_step(
        [(Counts(float(e[0]), float(e[1])), Counts(float(e[2]), float(e[3]))) for e in err[:used]],
        tolerance=m.error_tolerance,
        alpha=s.alpha / 2,
        tau=s.tau,
    ).verdict
    bounds = (*ENVOY_BOUNDS_MS, math.inf)

    def hist(counts: Array) -> Histogram:
        return Histogram(tuple(zip(bounds, (float(x) for x in np.cumsum(counts)), strict=True)))

    got_l = compare_latency_by_step(
        [(hist(h[0]), hist(h[1])) for h in lat[:used]],
        slowdown=s.slowdown,
        tolerance=s.latency_tolerance,
        alpha=s.alpha / 2,
        tau=s.tau,
    ).verdict
    if len(err) == 1:  # the plain contract must say the same on one window
        assert (
            got_e
            is compare_error_rates(
                Counts(float(err[0, 0]), float(err[0, 1])),
                Counts(float(err[0, 2]), float(err[0, 3])),
                tolerance=m.error_tolerance,
                alpha=s.alpha / 2,
                tau=s.tau,
            ).verdict
        )
    code = {MetricVerdict.FAIL: -1.0, MetricVerdict.PASS: 1.0, MetricVerdict.INCONCLUSIVE: 0.0}
    if (code[got_e], code[got_l]) != (ve, vl):
        raise SystemExit(
            f"spot check failed: module says {got_e}/{got_l}, vectorised {ve}/{vl} "
            f"for {err.tolist()} / {lat.tolist()}"
        )


def _flagger(sim: Sim, err: Array, lat: Array) -> npt.NDArray[np.bool_]:
    req, bad = err[:, :, 0].sum(axis=1), err[:, :, 1].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        success = np.where(req > 0, 1.0 - bad / req, np.nan)
    p99 = histogram_quantile(0.99, lat[:, :, 0].sum(axis=1))
    # no data is a failed check, as Flagger counts a query without values
    return np.asarray((success >= 0.99) & (p99 <= 1.2 * sim.stable_p99), dtype=bool)


def _kayenta(err: Array, lat: Array) -> npt.NDArray[np.bool_]:
    n, k = err.shape[0], err.shape[1] // 2 * 2
    e = err[:, -k:].reshape(n, k // 2, 2, 4).sum(axis=2)  # per-10 s: two scrapes
    b = lat[:, -k:].reshape(n, k // 2, 2, 2, NB).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rc = np.where(e[..., 0] > 0, e[..., 1] / e[..., 0], 0.0)
        rs = np.where(e[..., 2] > 0, e[..., 3] / e[..., 2], 0.0)
    qc = np.nan_to_num(histogram_quantile(0.99, b[:, :, 0]), nan=0.0)
    qs = np.nan_to_num(histogram_quantile(0.99, b[:, :, 1]), nan=0.0)
    ok = np.ones(n, dtype=bool)
    for x, y in ((rc, rs), (qc, qs)):
        same = np.all(x == x[:, :1], axis=1) & np.all(y == x[:, :1], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = mannwhitneyu(x, y, alternative="greater", axis=1, method="asymptotic").pvalue
        ok &= same | ~(p < 0.01)
    return ok


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    scenario: str
    rate: float
    rolled_back: float
    held: float
    median: float
    p95: float
    within_3: float  # rolled back within 3 step intervals of the fault
    incident_rolled_back: float
    reaction: Array  # decided - first scrape, for rolled-back rollouts


def summarise(sim: Sim, o: Outcome) -> Row:
    rb = o.outcome == ROLLED_BACK
    t = o.decided[rb]
    inc = o.incident
    return Row(
        method=sim.method.name,
        scenario=sim.scenario.name,
        rate=sim.rate,
        rolled_back=float(rb.mean()),
        held=float((o.outcome == HELD).mean()),
        median=float(np.median(t)) if len(t) else math.nan,
        p95=float(np.percentile(t, 95)) if len(t) else math.nan,
        within_3=float((rb & (o.decided <= 3 * sim.s.interval)).mean()),
        incident_rolled_back=float(rb[inc].mean()) if inc.any() else math.nan,
        reaction=o.decided[rb] - o.first_scrape[rb],
    )


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _sec(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0f}s"


def table(rows: list[Row]) -> list[str]:
    out = [
        f"{'method':<14} {'scenario':<13} {'rate/s':>7} {'rollback':>9} {'median':>7} "
        f"{'p95':>6} {'<=3 int':>8} {'held':>7} {'incident rb':>12}",
    ]
    for r in rows:
        out.append(
            f"{r.method:<14} {r.scenario:<13} {r.rate:>7g} {_pct(r.rolled_back):>9} "
            f"{_sec(r.median):>7} {_sec(r.p95):>6} {_pct(r.within_3):>8} {_pct(r.held):>7} "
            f"{_pct(r.incident_rolled_back):>12}"
        )
    return out


def _margin(p: float, n: int) -> float:
    return 2.58 * math.sqrt(max(p * (1 - p), 1e-4) / n)


def goals(s: Settings, rows: list[Row]) -> list[str]:
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        healthy = [r for r in mine if r.scenario == "healthy"]
        worst = max(healthy, key=lambda r: r.rolled_back)
        met = worst.rolled_back <= 0.01
        out.append(
            f"{method}: false rollback <= 1% of healthy rollouts (incl. {s.incident_share:.0%} "
            f"with shared incidents): {'MET' if met else 'NOT MET'} (worst "
            f"{_pct(worst.rolled_back)} at {worst.rate:g}/s; within incident rollouts "
            f"{_pct(worst.incident_rolled_back)})"
        )
        two = [r for r in mine if r.scenario == "+2pp errors" and r.rate >= 10]
        if two:
            low = min(two, key=lambda r: r.within_3)
            out.append(
                f"{method}: detect >= 99% of +2pp canaries at >= 10/s within 3 intervals: "
                f"{'MET' if low.within_3 >= 0.99 else 'NOT MET'} (lowest {_pct(low.within_3)} "
                f"at {low.rate:g}/s; "
                + ", ".join(f"{r.rate:g}/s {_pct(r.within_3)}" for r in two)
                + ")"
            )
        fast = [r for r in mine if r.scenario == "30% errors" and r.rate == 60]
        if fast:
            r = fast[0]
            within = float((r.reaction <= s.look).mean()) if len(r.reaction) else 0.0
            share = within * r.rolled_back
            med = float(np.median(r.reaction)) if len(r.reaction) else math.nan
            p95 = float(np.percentile(r.reaction, 95)) if len(r.reaction) else math.nan
            out.append(
                f"{method}: 30% errors at 60/s decided within {s.look:g}s of the first scrape "
                f"holding canary data: {'MET' if share >= 0.99 else 'NOT MET'} ({_pct(share)} "
                f"of rollouts; from that scrape median {_sec(med)}, p95 {_sec(p95)})"
            )
    return out


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def reasons(s: Settings) -> list[str]:
    """Why ours meets a goal or not, from the test's own formulas at expected counts."""
    out = []
    alpha, w0 = s.alpha / 2, s.weights[0]
    t2 = s.tau * s.tau

    def z_needed(v: float) -> float:
        return math.sqrt((v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))

    pc, ps = s.base_error + 0.02, s.base_error
    for tol in s.error_tolerances:
        excess = 0.02 - tol / 100
        for rate in (10.0, 60.0):
            parts = []
            for how, ws in (("advancing", s.weights[:3]), ("held at the first step", [w0] * 3)):
                nc = rate * s.interval * sum(w / w0 for w in ws)
                ns = rate * s.interval * sum((1 - w) / w0 for w in ws)
                v = pc * (1 - pc) / nc + ps * (1 - ps) / ns
                mean = excess / math.sqrt(v)
                parts.append(
                    f"{how} ~{nc:,.0f} canary requests, the excess over the tolerance is "
                    f"{mean:.1f} standard errors on average against {z_needed(v):.1f} needed: "
                    f"~{100 * _normal_cdf(mean - z_needed(v)):.0f}% decided by then"
                )
            need = 100.0
            while need < 1e7:
                v = pc * (1 - pc) / need + ps * (1 - ps) / (9 * need)
                if excess / math.sqrt(v) - z_needed(v) >= 2.326:
                    break
                need *= 1.02
            out.append(
                f"why (+2pp, tol {tol:g}pp, {rate:g}/s, 3 intervals): "
                + "; ".join(parts)
                + f"; 99% needs ~{need:,.0f} canary requests (alpha {alpha:g}, tau {s.tau:g})"
            )
    rate = 60.0
    n = 1.0
    while n < rate * s.scrape * 10:
        c = compare_error_rates(
            Counts(n, 0.3 * n), Counts(9 * n, 9 * n * s.base_error), tolerance=1.0, alpha=alpha
        )
        if c.verdict is MetricVerdict.FAIL:
            break
        n += 1
    share = max(0.0, 1 - n / (rate * s.scrape))
    out.append(
        f"why (30% errors at 60/s): at expected counts the error gate fails from {n:.0f} canary "
        f"requests ({n / rate:.1f}s of traffic; tau {s.tau:g}, alpha {alpha:g}); the first scrape "
        f"holds 0-{s.scrape:g}s of the canary's traffic (its phase is uniform), so only ~"
        f"{100 * share:.0f}% of rollouts can be decided on the first scrape; the others wait for "
        f"the next one ({s.scrape:g}s later)"
    )
    return out


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rollouts", type=int, default=Settings.rollouts)
    parser.add_argument("--rates", default="1,10,60,100,1000", help="canary requests/s at 10%%")
    parser.add_argument("--weights", default="10,20,30,40,50", help="step weights, percent")
    parser.add_argument("--interval", type=float, default=Settings.interval, help="step, s")
    parser.add_argument("--scrape", type=float, default=Settings.scrape)
    parser.add_argument("--look", type=float, default=Settings.look, help="ours: look period")
    parser.add_argument("--alpha", type=float, default=Settings.alpha)
    parser.add_argument("--tau", type=float, default=Settings.tau)
    parser.add_argument("--error-tolerances", default="1,0.5", help="pp, one row set each")
    parser.add_argument("--slowdown", type=float, default=Settings.slowdown)
    parser.add_argument("--latency-tolerance", type=float, default=Settings.latency_tolerance)
    parser.add_argument("--incident-share", type=float, default=Settings.incident_share)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--quick", action="store_true", help="200 rollouts per cell")
    a = parser.parse_args(argv)
    s = Settings(
        rollouts=200 if a.quick else a.rollouts,
        rates=tuple(float(x) for x in a.rates.split(",")),
        weights=tuple(float(x) / 100 for x in a.weights.split(",")),
        interval=a.interval,
        scrape=a.scrape,
        look=a.look,
        alpha=a.alpha,
        tau=a.tau,
        error_tolerances=tuple(float(x) for x in a.error_tolerances.split(",")),
        slowdown=a.slowdown,
        latency_tolerance=a.latency_tolerance,
        incident_share=a.incident_share,
        seed=a.seed,
    )
    if s.look != s.scrape:
        print(
            "note: looks are simulated once per scrape (a look between scrapes sees nothing "
            "new); --look only sets the lag's range",
            file=sys.stderr,
        )
    return replace(s)


def main(argv: list[str] | None = None) -> int:
    s = parse_args(argv)
    started = time.monotonic()
    methods = (
        [Method("flagger-style", "flagger"), Method("kayenta-style", "kayenta")]
        + [Method(f"ours {t:g}pp", "ours", t) for t in s.error_tolerances]
        + [Method(f"ours {s.error_tolerances[0]:g}pp cumul", "ours", s.error_tolerances[0], False)]
    )
    print(
        f"judgement benchmark: {s.rollouts} rollouts per cell, steps "
        f"{', '.join(f'{100 * w:g}%' for w in s.weights)} every {s.interval:g}s, scrape "
        f"{s.scrape:g}s, ours: alpha {s.alpha:g} (half per gate), tau {s.tau:g}, at least "
        f"{MIN_REQUESTS:g} requests a side, latency slowdown {s.slowdown:g}% + "
        f"{s.latency_tolerance:g} pp; rate = the canary's requests/s at the first step",
        flush=True,
    )
    rows: list[Row] = []
    checked = 0
    for m in methods:
        for sc in SCENARIOS:
            for rate in s.rates:
                world = make_world(s, s.rollouts, s.seed * 1000 + int(rate))
                sim = Sim(s, sc, rate, m, world)
                o = run(sim)
                checked += o.spot_checked
                rows.append(summarise(sim, o))
        print(f"  {m.name} done after {time.monotonic() - started:.0f}s", file=sys.stderr)
    print()
    print("\n".join(table(rows)))
    print()
    print(
        "rollback: share of rollouts rolled back (healthy: false rollbacks); median/p95: time "
        "from the canary's first request to the rollback decision; <=3 int: rolled back within "
        f"3 step intervals ({3 * s.interval:g}s); held: not finished within "
        f"{s.hold_factor:g}x the nominal {s.nominal:g}s; incident rb: rolled back among the "
        "rollouts with a shared incident"
    )
    print()
    print("\n".join(goals(s, rows)))
    print()
    print("\n".join(reasons(s)))
    print(
        f"\n{checked} looks of ours also judged by canary.core.sequential: all agreed; "
        f"{time.monotonic() - started:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
