"""A keyed work queue with controller-runtime semantics.

Keys are `namespace/name` strings. Duplicate adds collapse; a key is never handed to two
workers at once (an add while it is being processed re-queues it after `done`); errors back off
exponentially per key; `add_after` schedules a requeue. It holds keys only, never objects.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import NewType

from canary.controller.clock import Clock

Key = NewType("Key", str)


def key_of(namespace: str, name: str) -> Key:
    return Key(f"{namespace}/{name}")


def split_key(key: Key) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name


class WorkQueue:
    """FIFO of distinct keys, with per-key backoff and delayed adds driven by a `Clock`."""

    def __init__(self, clock: Clock, *, base_delay: float = 0.5, max_delay: float = 300.0) -> None:
        self._clock = clock
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._order: list[Key] = []
        self._dirty: set[Key] = set()
        self._processing: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._timers: dict[Key, tuple[float, asyncio.Task[None]]] = {}
        self._ready = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._order)

    def depth(self) -> int:
        """Keys waiting to be processed (not counting delayed ones)."""
        return len(self._order)

    async def add(self, key: Key) -> None:
        if self._closed or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._order.append(key)
            async with self._ready:
                self._ready.notify()

    def add_after(self, key: Key, seconds: float) -> None:
        """Add `key` after a delay; an earlier pending timer for the key wins."""
        if self._closed:
            return
        now = self._clock.now().timestamp()
        existing = self._timers.get(key)
        if existing is not None and existing[0] <= now + seconds:
            return
        if existing is not None:
            existing[1].cancel()
        task = asyncio.create_task(self._delayed_add(key, seconds))
        self._timers[key] = (now + seconds, task)

    async def _delayed_add(self, key: Key, seconds: float) -> None:
        await self._clock.sleep(seconds)
        self._timers.pop(key, None)
        await self.add(key)

    def add_rate_limited(self, key: Key, *, at_most: float | None = None) -> float:
        """Requeue after an exponential per-key backoff (capped at `at_most` when given);
        returns the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        cap = self._max_delay if at_most is None else min(at_most, self._max_delay)
        delay: float = min(cap, self._base_delay * 2.0**failures)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Key) -> None:
        """Reset the key's backoff after a successful reconcile."""
        self._failures.pop(key, None)

    def failures(self, key: Key) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> Key | None:
        """The next key to process, or None once the queue is shut down."""
        async with self._ready:
            await self._ready.wait_for(lambda: bool(self._order) or self._closed)
            if self._closed:
                return None
            key = self._order.pop(0)
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    async def done(self, key: Key) -> None:
        """Mark processing finished; a key re-added meanwhile goes back in line."""
        self._processing.discard(key)
        if key in self._dirty:
            self._order.append(key)
            async with self._ready:
                self._ready.notify()

    async def shutdown(self) -> None:
        self._closed = True
        for _, task in self._timers.values():
            task.cancel()
        for _, task in list(self._timers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._timers.clear()
        async with self._ready:
            self._ready.notify_all()
