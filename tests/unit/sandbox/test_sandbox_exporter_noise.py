"""The test exporter's counters: exact areas by default, Poisson processes with a seed, and rates
changed mid-way (an incident), read through `render()` on a clock the test moves."""

from __future__ import annotations

import random
import re
import statistics
from types import SimpleNamespace

import pytest

from canary.sandbox import exporter as exporter_module
from canary.sandbox.exporter import TICK_SECONDS, Exporter, Traffic, poisson

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(exporter_module, "time", SimpleNamespace(monotonic=fake))
    return fake


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in\n{text}")


def _counts(exporter: Exporter, service: str) -> tuple[float, float]:
    """(requests answered 200, requests answered 500) of `service` in namespace `ns`."""
    text = exporter.render()
    ok = _value(text, f'http_requests_total{{code="200",namespace="ns",service="{service}"}}')
    failed = f'http_requests_total{{code="500",namespace="ns",service="{service}"}}'
    return ok, (_value(text, failed) if failed in text else 0.0)


@pytest.mark.parametrize("mean", [0.0, 0.3, 4.0, 10.0, 37.5])
def test_poisson_draws_have_the_mean_and_variance_of_a_poisson(mean: float) -> None:
    rng = random.Random(7)
    draws = [poisson(rng, mean) for _ in range(20_000)]
    assert all(isinstance(d, int) and d >= 0 for d in draws)
    # 20,000 draws: the sample mean is within 5 standard errors of the mean.
    tolerance = 5 * (mean / len(draws)) ** 0.5 + 1e-9
    assert statistics.fmean(draws) == pytest.approx(mean, abs=tolerance)
    assert statistics.pvariance(draws) == pytest.approx(mean, rel=0.06, abs=1e-9)


def test_without_a_seed_counters_are_the_area_under_the_rate(clock: Clock) -> None:
    exporter = Exporter()
    exporter.app_service("ns", "web", Traffic(rps=50, error_ratio=0.1))
    clock.now += 10
    assert _counts(exporter, "web") == (450, 50)


def test_a_seeded_counter_advances_by_whole_ticks_around_its_rate(clock: Clock) -> None:
    exporter = Exporter()
    exporter.app_service("ns", "web", Traffic(rps=100, error_ratio=0.2, seed=3))
    clock.now += TICK_SECONDS / 2
    assert _counts(exporter, "web") == (0, 0), "nothing before the first whole tick"
    clock.now += 60
    ok, failed = _counts(exporter, "web")
    assert ok == int(ok) and failed == int(failed), "Poisson counts are whole requests"
    # 4,800 and 1,200 expected: within 5 standard deviations, but not exactly (noise).
    assert abs(ok - 4800) < 5 * 4800**0.5 and abs(failed - 1200) < 5 * 1200**0.5
    assert (ok, failed) != (4800, 1200)


def test_the_same_seed_gives_the_same_counts_however_often_it_is_read(clock: Clock) -> None:
    start = clock.now
    often, rarely = Exporter(), Exporter()
    for exporter in (often, rarely):
        exporter.app_service("ns", "web", Traffic(rps=30, error_ratio=0.3, seed=11))
    seen = []
    for _ in range(40):
        clock.now += 0.25
        seen.append(_counts(often, "web"))
    assert seen == sorted(seen), "counters never go down"
    assert _counts(rarely, "web") == seen[-1]
    clock.now = start + 10.05
    other = Exporter()
    other.app_service("ns", "web", Traffic(rps=30, error_ratio=0.3, seed=12))
    clock.now = start + 20
    assert _counts(other, "web") != seen[-1], "another seed draws other counts"


def test_each_backend_draws_its_own_noise(clock: Clock) -> None:
    exporter = Exporter()
    for service in ("v1", "v2"):
        exporter.app_service("ns", service, Traffic(rps=40, error_ratio=0.5, seed=5))
    clock.now += 30
    assert _counts(exporter, "v1") != _counts(exporter, "v2")


def test_an_incident_changes_the_error_ratio_from_then_on(clock: Clock) -> None:
    """A shared incident: both backends fail at 20 % for 10 s, then recover."""
    exporter = Exporter()
    for service in ("v1", "v2"):
        exporter.app_service("ns", service, Traffic(rps=100, error_ratio=0.01))
    clock.now += 10
    for service in ("v1", "v2"):
        exporter.app_service("ns", service, Traffic(rps=100, error_ratio=0.2))
    clock.now += 10
    for service in ("v1", "v2"):
        exporter.app_service("ns", service, Traffic(rps=100, error_ratio=0.01))
    clock.now += 10
    for service in ("v1", "v2"):
        assert _counts(exporter, service) == pytest.approx((990 + 800 + 990, 10 + 200 + 10))


def test_a_seeded_incident_keeps_the_draws_of_the_ticks_before_it(clock: Clock) -> None:
    calm, incident = Exporter(), Exporter()
    for exporter in (calm, incident):
        exporter.app_service("ns", "web", Traffic(rps=100, error_ratio=0.01, seed=9))
    clock.now += 5.0 + TICK_SECONDS / 2
    before = _counts(calm, "web")
    incident.app_service("ns", "web", Traffic(rps=100, error_ratio=0.3, seed=9))
    assert _counts(incident, "web") == before
    clock.now += 10
    ok, failed = _counts(incident, "web")
    assert failed - before[1] == pytest.approx(300, abs=5 * 300**0.5)
    assert ok - before[0] == pytest.approx(700, abs=5 * 700**0.5)


def test_histograms_stay_exact_and_cumulative_with_noise(clock: Clock) -> None:
    exporter = Exporter()
    exporter.app_service("ns", "web", Traffic(rps=10, latency_ms=40, seed=1))
    clock.now += 10
    text = exporter.render()
    buckets = {
        float(m.group(1).replace("+Inf", "inf")): float(m.group(2))
        for m in re.finditer(
            r'http_request_duration_seconds_bucket\{le="([^"]+)",namespace="ns",'
            r'service="web"\} (\S+)',
            text,
        )
    }
    assert buckets[0.025] == 0 and buckets[0.05] == 100 and buckets[float("inf")] == 100
