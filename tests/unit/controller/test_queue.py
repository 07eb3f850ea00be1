"""The work queue collapses duplicates, serialises a key, backs off and requeues in time."""

from __future__ import annotations

import asyncio

import pytest

from canary.controller.clock import VirtualClock
from canary.controller.queue import Key, WorkQueue, key_of, split_key
from canary.controller.result import Done, RequeueAfter, Result, TemporaryError
from canary.controller.workers import UNREACHABLE_RETRY, process_one
from canary.kube.errors import Invalid, Unavailable

pytestmark = pytest.mark.unit

A, B = key_of("ns", "a"), key_of("ns", "b")


async def test_duplicate_adds_collapse_into_one_item() -> None:
    queue = WorkQueue(VirtualClock())
    for _ in range(5):
        await queue.add(A)
    await queue.add(B)
    assert queue.depth() == 2
    assert await queue.get() == A
    assert await queue.get() == B


async def test_key_added_while_processing_is_handed_out_again_only_after_done() -> None:
    queue = WorkQueue(VirtualClock())
    await queue.add(A)
    assert await queue.get() == A
    await queue.add(A)
    assert queue.depth() == 0, "a key being processed must not be handed to a second worker"
    await queue.done(A)
    assert queue.depth() == 1
    assert await queue.get() == A


async def test_add_after_waits_for_the_virtual_clock() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    queue.add_after(A, 30)
    await clock.advance(29)
    assert queue.depth() == 0
    await clock.advance(1)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_earlier_requeue_wins_over_a_later_one() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    queue.add_after(A, 60)
    queue.add_after(A, 5)
    await clock.advance(5)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_backoff_doubles_per_failure_and_resets_on_forget() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock, base_delay=1, max_delay=8)
    delays = [queue.add_rate_limited(A) for _ in range(5)]
    assert delays == [1, 2, 4, 8, 8]
    queue.forget(A)
    assert queue.failures(A) == 0
    assert queue.add_rate_limited(A) == 1
    await queue.shutdown()


async def test_get_returns_none_after_shutdown() -> None:
    queue = WorkQueue(VirtualClock())
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    await queue.shutdown()
    assert await waiter is None


def test_keys_split_back_into_namespace_and_name() -> None:
    assert split_key(Key("team-a/api")) == ("team-a", "api")


async def _run(queue: WorkQueue, outcome: Result | Exception) -> None:
    async def reconcile(key: Key) -> Result:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    await queue.add(A)
    key = await queue.get()
    assert key == A
    await process_one(queue, reconcile, key, reconcile_timeout=5, resync=300)


async def test_requeue_after_outcome_schedules_the_key() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    await _run(queue, RequeueAfter(10))
    await clock.advance(10)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_done_outcome_still_resyncs_later() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    await _run(queue, Done())
    await clock.advance(299)
    assert queue.depth() == 0
    await clock.advance(1)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_unexpected_error_backs_off_instead_of_crashing() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock, base_delay=2)
    await _run(queue, RuntimeError("boom"))
    assert queue.failures(A) == 1
    await clock.advance(2)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_temporary_error_with_delay_uses_that_delay() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    await _run(queue, TemporaryError("route busy", delay=7))
    await clock.advance(6)
    assert queue.depth() == 0
    await clock.advance(1)
    assert queue.depth() == 1
    await queue.shutdown()


async def test_an_unreachable_api_server_is_retried_every_few_seconds() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    for _ in range(12):  # a long outage: every reconcile fails to reach the API server
        await _run(queue, Unavailable("connection refused"))
        await clock.advance(UNREACHABLE_RETRY)
        assert queue.depth() == 1, "retried within UNREACHABLE_RETRY seconds"
    await queue.shutdown()


async def test_a_refused_write_still_backs_off_exponentially() -> None:
    clock = VirtualClock()
    queue = WorkQueue(clock)
    for _ in range(6):
        await _run(queue, Invalid("denied by an admission policy"))
        await clock.advance(3600)
    assert queue.add_rate_limited(A) == 0.5 * 2**6
    await queue.shutdown()
