"""A loopback exporter serving Prometheus text whose series the caller sets: faked traffic.

Counters grow at the rate the caller sets (each value is the area under its rate), so `rate()`
over them is exactly what was asked; or, for request and error counts of a `Traffic` with a
`seed`, by Poisson draws per tick (`TICK_SECONDS`), as real traffic would: a Poisson process of
that rate, reproducible from the seed. Calling a traffic method again changes the rates from
that moment on (an incident: raise the error ratio, later lower it again). It speaks Envoy's,
Istio's and the usual application metric names; it knows nothing about canaries or Kubernetes.
"""

from __future__ import annotations

import math
import random
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from canary.sandbox.httpthread import LoopbackHTTPServer, QuietHandler
from canary.sandbox.processes import LOOPBACK

LabelSet = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, LabelSet]
ENVOY_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
ISTIO_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
APP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
TICK_SECONDS = 0.1
"""How often a noisy counter advances (by a Poisson draw of its rate times the tick)."""


@dataclass(frozen=True)
class Traffic:
    """Requests per second reaching one backend, the share answered 5xx, and their latency.

    With a `seed`, the request and error counters advance by Poisson draws (each answer code a
    Poisson process of its rate, as independent arrivals are: thinning a Poisson process by
    the error ratio gives two independent ones), seeded from `seed` and the series, so a test
    run sees the same draws tick by tick. The latency histogram stays exact (its buckets must
    stay cumulative)."""

    rps: float
    error_ratio: float = 0.0
    latency_ms: float = 10.0
    seed: int | None = None


@dataclass(frozen=True)
class _Rate:
    name: str
    labels: LabelSet
    per_second: float
    create: bool = True
    seed: int | None = None


def _rate(
    name: str,
    base: Mapping[str, str],
    per_second: float,
    *,
    lazy: bool = False,
    seed: int | None = None,
) -> _Rate:
    """A `lazy` series is created only once its rate is non-zero (Envoy's 5xx counters)."""
    labels = _labelset(base)
    create = per_second > 0 or not lazy
    return _Rate(name, labels, per_second, create=create, seed=seed)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw of `mean` (exact: Knuth's product of uniforms, over pieces of mean at
    most 10 summed, so that exp(-mean) never underflows)."""
    if not mean > 0:
        return 0
    total = 0
    whole = math.ceil(mean / 10.0)
    piece = mean / whole
    limit = math.exp(-piece)
    for _ in range(whole):
        product = rng.random()
        while product > limit:
            total += 1
            product *= rng.random()
    return total


def series_rng(seed: int, name: str, labels: LabelSet) -> random.Random:
    """The draws of one series: from the seed and the series (stable across processes, unlike
    `hash()` of a string)."""
    key = name + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"
    return random.Random(seed * 1_000_003 + zlib.crc32(key.encode()))


class _Counter:
    """Exact (the area under the rate) or, with an `rng`, a Poisson process: each whole tick
    since the counter was created adds a draw of rate * tick, drawn when first read."""

    def __init__(self, now: float, rng: random.Random | None = None) -> None:
        self.base, self.rate, self.since = 0.0, 0.0, now
        self.rng, self.ticks = rng, 0  # noisy: ticks drawn since `since`, the creation time

    def value(self, now: float) -> float:
        if self.rng is None:
            return self.base + self.rate * (now - self.since)
        # Whole ticks counted from the creation time (not summed: float drift would make the
        # tick count depend on how often the counter is read).
        due = math.floor((now - self.since) / TICK_SECONDS + 1e-9)
        while self.ticks < due:
            self.base += poisson(self.rng, self.rate * TICK_SECONDS)
            self.ticks += 1
        return self.base

    def set_rate(self, rate: float, now: float) -> None:
        if self.rng is None:
            self.base, self.since = self.value(now), now
        else:
            self.value(now)  # the whole ticks so far at the old rate; the current one at the new
        self.rate = rate


class Exporter(LoopbackHTTPServer):
    """Serves `/metrics` on 127.0.0.1 from a background thread; use as a context manager."""

    name = "exporter"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[SeriesKey, _Counter] = {}
        self._gauges: dict[SeriesKey, float] = {}
        self._families: dict[str, tuple[str, str]] = {}  # series name -> (family, type)

    # -- series ---------------------------------------------------------------------------
    def set_rate(
        self, name: str, labels: Mapping[str, str], per_second: float, *, create: bool = True
    ) -> None:
        """Let counter `name{labels}` grow by `per_second` from now on (created at 0)."""
        self._apply([_Rate(name, _labelset(labels), per_second, create)])

    def _apply(self, rates: Sequence[_Rate], *, histogram: str = "") -> None:
        # One timestamp for all: related counters (ok/failed, buckets) stay exactly in ratio.
        now = time.monotonic()
        with self._lock:
            for rate in rates:
                key = (rate.name, rate.labels)
                if key not in self._counters:
                    if not rate.create:
                        continue
                    rng = None if rate.seed is None else series_rng(rate.seed, *key)
                    self._counters[key] = _Counter(now, rng)
                    kind = (histogram, "histogram") if histogram else (rate.name, "counter")
                    self._families.setdefault(rate.name, kind)
                self._counters[key].set_rate(rate.per_second, now)

    def bump(self, name: str, labels: Mapping[str, str], count: float) -> None:
        """Add `count` to counter `name{labels}` at once, creating it at that value if it does
        not exist: a series born with counts already on it, as Envoy's lazily created
        counters are at their first scrape."""
        now = time.monotonic()
        with self._lock:
            key = (name, _labelset(labels))
            if key not in self._counters:
                self._counters[key] = _Counter(now)
                self._families.setdefault(name, (name, "counter"))
            self._counters[key].base += count

    def set_gauge(self, name: str, labels: Mapping[str, str], value: float) -> None:
        with self._lock:
            self._gauges[(name, _labelset(labels))] = value
            self._families.setdefault(name, (name, "gauge"))

    def remove(self, name: str) -> None:
        """Stop serving every series called `name`; Prometheus marks them stale."""
        with self._lock:
            for store in (self._counters, self._gauges):
                for key in [key for key in store if key[0] == name]:
                    del store[key]

    # -- traffic in the shapes the built-in templates read ---------------------------------
    def envoy_cluster(self, cluster: str, traffic: Traffic) -> None:
        """Envoy's per-cluster stats, cluster named like our sandbox's `namespace/service/port`."""
        base = {"envoy_cluster_name": cluster}
        rq, code = "envoy_cluster_upstream_rq", "envoy_response_code"
        self._apply(
            _answers(rq, base, traffic, code, ("200", "503"))
            + _answers(f"{rq}_xx", base, traffic, f"{code}_class", ("2", "5"))
        )
        self._histogram(f"{rq}_time", base, ENVOY_BUCKETS_MS, traffic)

    def istio_service(
        self, namespace: str, service: str, traffic: Traffic, *, reporter: str = "destination"
    ) -> None:
        """Istio's standard metrics for requests to `service`, as `reporter` saw them."""
        base = {
            "reporter": reporter,
            "destination_service_namespace": namespace,
            "destination_service_name": service,
        }
        answers = _answers("istio_requests_total", base, traffic, "response_code", ("200", "503"))
        self._apply(answers)
        self._histogram("istio_request_duration_milliseconds", base, ISTIO_BUCKETS_MS, traffic)

    def app_service(self, namespace: str, service: str, traffic: Traffic) -> None:
        """`http_requests_total` and `http_request_duration_seconds` as an instrumented app."""
        base = {"namespace": namespace, "service": service}
        self._apply(_answers("http_requests_total", base, traffic, "code", ("200", "500")))
        self._histogram(
            "http_request_duration_seconds", base, APP_BUCKETS_S, traffic, unit_ms=1000
        )

    def _histogram(
        self,
        family: str,
        labels: Mapping[str, str],
        bounds: Sequence[float],
        traffic: Traffic,
        *,
        unit_ms: float = 1.0,
    ) -> None:
        """Every request observed at the traffic's latency (in units of `unit_ms`
        milliseconds): it counts in each bucket at or above it."""
        rps, observed = traffic.rps, traffic.latency_ms / unit_ms
        rates = [
            _Rate(
                f"{family}_bucket",
                _labelset({**labels, "le": _number(bound)}),
                rps if observed <= bound else 0.0,
            )
            for bound in (*bounds, math.inf)
        ]
        rates += [
            _Rate(f"{family}_sum", _labelset(labels), rps * observed),
            _Rate(f"{family}_count", _labelset(labels), rps),
        ]
        self._apply(rates, histogram=family)

    # -- exposition -----------------------------------------------------------------------
    def render(self) -> str:
        """The current text exposition (format 0.0.4), grouped by metric family."""
        now = time.monotonic()
        with self._lock:
            values = {key: c.value(now) for key, c in self._counters.items()} | self._gauges
            families = dict(self._families)
        lines: list[str] = []
        current = ""
        for name, labels in sorted(values, key=lambda key: (families[key[0]][0], key)):
            family, kind = families[name]
            if family != current:
                lines.append(f"# TYPE {family} {kind}")
                current = family
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{pairs}}} {_number(values[(name, labels)])}")
        return "\n".join(lines) + "\n"

    @property
    def target(self) -> str:
        """`host:port` for a scrape config."""
        return f"{LOOPBACK}:{self.port}"

    def handler(self) -> type[QuietHandler]:
        exporter = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status = 200 if self.path.startswith("/metrics") else 404
                body = exporter.render().encode()
                self.reply(status, body, "text/plain; version=0.0.4; charset=utf-8")

        return Handler


def _answers(
    name: str, base: Mapping[str, str], traffic: Traffic, label: str, codes: tuple[str, str]
) -> list[_Rate]:
    """Counter `name` split by `label`: the good answers under `codes[0]`, the failed ones under
    `codes[1]`, a series that appears with the first failure (as Envoy's does)."""
    failed = traffic.rps * traffic.error_ratio
    ok_code, failed_code = codes
    seed = traffic.seed
    return [
        _rate(name, {**base, label: ok_code}, traffic.rps - failed, seed=seed),
        _rate(name, {**base, label: failed_code}, failed, lazy=True, seed=seed),
    ]


def _labelset(labels: Mapping[str, str]) -> LabelSet:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
