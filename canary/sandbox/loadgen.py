"""Load through the sandbox's gateway (Contour's Envoy) at a steady rate, counting answers
per backend version.

Open loop: requests start on a fixed schedule whether or not earlier ones finished, so a slow
backend shows up as latency, not as a lower rate. It only counts; judging a split against
declared weights is the exact binomial test below, never a hand-picked tolerance.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Self

import aiohttp

from canary.sandbox.demoapp import VERSION_HEADER
from canary.sandbox.service import AsyncService, cancel_and_wait


@dataclass(frozen=True)
class Result:
    """One request: when it started (monotonic), who answered, how, and how long it took."""

    started: float
    version: str  # the backend's `x-demo-version`; "" when the proxy answered by itself
    status: int  # 0 when there was no HTTP answer (connection error, timeout)
    latency: float


@dataclass(frozen=True)
class Tally:
    """Counts over a set of results."""

    by_version: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @classmethod
    def of(cls, results: Iterable[Result]) -> Tally:
        tally = cls()
        for result in results:
            tally.by_version[result.version] += 1
            tally.by_status[result.status] += 1
        return tally


async def _request(session: aiohttp.ClientSession, url: str, headers: Mapping[str, str]) -> Result:
    started = time.monotonic()
    try:
        async with session.get(url, headers=headers) as response:
            await response.read()
            version = response.headers.get(VERSION_HEADER, "")
            return Result(started, version, response.status, time.monotonic() - started)
    except (aiohttp.ClientError, TimeoutError):
        return Result(started, "", 0, time.monotonic() - started)


def _session(connections: int, timeout: float) -> aiohttp.ClientSession:
    """Keep-alive connections, at most `connections` of them, reused across requests."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


async def send(
    url: str,
    count: int,
    *,
    host: str | None = None,
    connections: int = 4,
    request_timeout: float = 5.0,
) -> Tally:
    """Send `count` requests as fast as `connections` keep-alive connections allow."""
    headers = {"Host": host} if host else {}
    async with _session(connections, request_timeout) as session:
        queue = iter(range(count))
        results: list[Result] = []

        async def worker() -> None:
            for _ in queue:
                results.append(await _request(session, url, headers))

        await asyncio.gather(*(worker() for _ in range(connections)))
    return Tally.of(results)


class LoadGenerator(AsyncService):
    """`async with LoadGenerator(url, rate=50) as load:` ... `load.tally(since=t)`."""

    def __init__(
        self,
        url: str,
        *,
        rate: float,
        host: str | None = None,
        connections: int = 8,
        timeout: float = 5.0,
        max_in_flight: int = 256,
        keep: int = 200_000,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.url, self.rate, self._timeout = url, rate, timeout
        self._headers = {"Host": host} if host else {}
        self._connections, self._max_in_flight = connections, max_in_flight
        self._results: deque[Result] = deque(maxlen=keep)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self.dropped = 0  # scheduled requests skipped because `max_in_flight` were pending
        self._finished = 0
        self.started_at: float | None = None  # monotonic time of the schedule's origin
        self._progress = asyncio.Event()

    async def start(self) -> Self:
        self._session = _session(self._connections, self._timeout)
        self._scheduler = asyncio.create_task(self._schedule(self._session), name="loadgen")
        return self

    async def stop(self) -> None:
        """Stop sending; wait for requests in flight (at most the request timeout)."""
        await cancel_and_wait(self._scheduler)
        self._scheduler = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _schedule(self, session: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()  # its clock is time.monotonic()
        start, sent = loop.time(), 0
        self.started_at = start
        while True:
            sent += 1
            delay = start + sent / self.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(self._in_flight) >= self._max_in_flight:
                self.dropped += 1
                continue
            task = asyncio.create_task(self._one(session))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _one(self, session: aiohttp.ClientSession) -> None:
        self._results.append(await _request(session, self.url, self._headers))
        self._finished += 1
        self._progress.set()

    def results(self, since: float | None = None) -> list[Result]:
        """Finished requests that started at or after `since` (a `time.monotonic()` value)."""
        return [r for r in self._results if since is None or r.started >= since]

    def tally(self, since: float | None = None) -> Tally:
        return Tally.of(self.results(since))

    async def wait_for(self, count: int, *, since: float | None = None) -> Tally:
        """Wait until `count` requests started after `since` have finished (bound it with
        `asyncio.timeout`)."""
        while len(results := self.results(since)) < count:
            target = self._finished + count - len(results)
            while self._finished < target:
                self._progress.clear()
                await self._progress.wait()
        return Tally.of(results)


def binomial_two_sided_p(successes: int, trials: int, share: float) -> float:
    """Exact two-sided binomial test (the sum of outcomes no likelier than the one observed).

    The same definition as `scipy.stats.binomtest(...).pvalue`, computed in log space.
    """
    if not 0 <= successes <= trials:
        raise ValueError("successes must be within [0, trials]")
    if share <= 0.0 or share >= 1.0:
        return 1.0 if successes == (trials if share >= 1.0 else 0) else 0.0

    def log_pmf(k: int) -> float:
        return (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * math.log(share)
            + (trials - k) * math.log1p(-share)
        )

    threshold = log_pmf(successes) + math.log1p(1e-7)  # scipy's relative tolerance
    total = sum(math.exp(lp) for k in range(trials + 1) if (lp := log_pmf(k)) <= threshold)
    return min(1.0, total)


def split_p_value(tally: Tally, version: str, weights: Mapping[str, int]) -> float:
    """p-value of `version`'s count among the answered requests against its declared weight.

    `weights` maps every version to its weight; requests answered by no version (errors from
    the proxy) are excluded, so check `tally.by_status` separately.
    """
    total_weight = sum(weights.values())
    answered = sum(n for v, n in tally.by_version.items() if v in weights)
    share = weights[version] / total_weight if total_weight else 0.0
    return binomial_two_sided_p(tally.by_version.get(version, 0), answered, share)


async def _main(args: argparse.Namespace) -> None:
    async with LoadGenerator(args.url, rate=args.rate, host=args.host) as load:
        started = time.monotonic()
        while time.monotonic() - started < args.duration:
            mark = time.monotonic()
            await asyncio.sleep(1.0)
            tally = load.tally(since=mark)
            print(dict(tally.by_version), dict(tally.by_status), flush=True)
    final = load.tally()
    print(f"total {final.total}: {dict(final.by_version)} {dict(final.by_status)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--host", default=None, help="Host header to send")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
