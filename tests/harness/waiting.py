"""Waiting for something to become true, the one way every suite does it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | bool | None]],
    *,
    within: float = 60,
    what: str = "condition",
    every: float = 0.1,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll `check` every `every` seconds until it returns something truthy, and return that;
    fail after `within` seconds with the last value seen (and `detail()`, e.g. a log tail)."""
    last: object = None
    try:
        async with asyncio.timeout(within):
            while True:
                last = await check()
                if last:
                    return last  # type: ignore[return-value]
                await asyncio.sleep(every)
    except TimeoutError:
        extra = f"\n{detail()}" if detail else ""
        raise AssertionError(
            f"timed out after {within}s waiting for {what}; last: {last!r}{extra}"
        ) from None


def became(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """An `eventually` check out of a plain predicate on test-local state."""

    async def check() -> bool:
        return predicate()

    return check
