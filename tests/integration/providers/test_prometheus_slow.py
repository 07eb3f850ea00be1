"""A Prometheus that never answers costs its own queries a timeout, and nobody else anything."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from canary.core.observations import SampleOutcome
from canary.providers.base import PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

TIMEOUT = 1.0


async def _largest_loop_stall(stop: asyncio.Event) -> float:
    """The longest time the event loop failed to run a 10 ms ticker, until `stop` is set."""
    worst, last = 0.0, time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        worst, last = max(worst, now - last), now
    return worst


async def test_a_hanging_prometheus_times_out_without_blocking_the_loop_or_a_healthy_one(
    hanging_server: Any,
    prometheus: PrometheusServer,
) -> None:
    slow = PrometheusProvider(
        PrometheusEndpoint(hanging_server.url, timeout=TIMEOUT, max_concurrent_queries=2)
    )
    healthy = PrometheusProvider(PrometheusEndpoint(prometheus.url, timeout=5))
    stop = asyncio.Event()
    ticker = asyncio.create_task(_largest_loop_stall(stop))
    started = time.monotonic()
    try:
        # More slow queries than the slow provider has threads: the extra ones wait in its pool.
        stuck = [asyncio.create_task(slow.query(f"slow-{i}", "vector(1)")) for i in range(5)]
        while len(hanging_server.seen_authorization) < 2:  # both pool threads are hanging now
            assert time.monotonic() - started < TIMEOUT / 2, "slow queries never reached the server"
            await asyncio.sleep(0.01)
        fine = await healthy.query("healthy", "vector(1)")
        fine_after = time.monotonic() - started
        still_hanging = not any(task.done() for task in stuck)
        samples = await asyncio.gather(*stuck)
        slow_after = time.monotonic() - started
    finally:
        stop.set()
        stall = await ticker
        hanging_server.release.set()
        await slow.aclose()
        await healthy.aclose()

    assert (fine.outcome, fine.value) == (SampleOutcome.VALUE, 1.0)
    assert still_hanging and fine_after < TIMEOUT  # answered while the slow ones hung
    assert [s.outcome for s in samples] == [SampleOutcome.ERROR] * 5
    assert all(f"within {TIMEOUT:g}s" in s.error for s in samples)
    assert TIMEOUT * 0.9 <= slow_after < TIMEOUT + 1.5  # every one bounded by its deadline
    assert stall < 0.25


async def test_a_timed_out_query_does_not_stop_the_next_query_from_the_same_provider(
    hanging_server: Any,
    prometheus: PrometheusServer,
) -> None:
    async with PrometheusProvider(PrometheusEndpoint(hanging_server.url, timeout=TIMEOUT)) as slow:
        first = await slow.query("gate", "vector(1)")
        hanging_server.release.set()  # the server now answers, badly: 503
        second = await slow.query("gate", "vector(1)")
    assert first.outcome is SampleOutcome.ERROR
    assert "within 1s" in first.error
    assert second.outcome is SampleOutcome.ERROR
    assert "HTTP 503" in second.error
