"""Anytime-valid comparison of a canary with its stable backend: the statistics behind the
comparison gates, looked at every few seconds without inflating false alarms.

Each look gets the counts accumulated since the rollout started shifting traffic (the same
window for both backends) and returns a `Comparison`: a verdict (Fail: conclusive harm beyond
the tolerance; Pass: conclusively within it; Inconclusive: not enough evidence yet), the effect,
a confidence sequence for it, the evidence, and the samples.

Pure: stdlib `math` only (the unit tests check the closed forms against scipy).
"""

from __future__ import annotations

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


def compare_error_rates(
    canary: Counts, stable: Counts, *, tolerance: float, alpha: float
) -> Comparison:
    """Is the canary's error rate worse than stable's by more than `tolerance` percentage
    points? Anytime-valid at level `alpha` under continuous monitoring."""
    raise NotImplementedError


def compare_latency(
    canary: Histogram,
    stable: Histogram,
    *,
    slowdown: float,
    tolerance: float,
    alpha: float,
) -> Comparison:
    """Is the canary's latency distribution worse than stable's by more than `slowdown`
    percent (relative), allowing `tolerance` percentage points of requests beyond it?
    Anytime-valid at level `alpha` under continuous monitoring, over every bucket boundary."""
    raise NotImplementedError
