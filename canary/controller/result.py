"""The result of a reconcile (controller-runtime's name), and its errors' retry intent, as types.

Done, RequeueAfter, or an exception: `TemporaryError` asks for a retry (with an optional
delay), `PermanentError` stops retries until the object changes. Anything else backs off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    """Nothing to do until something changes."""


@dataclass(frozen=True)
class RequeueAfter:
    """Look again after `seconds` (step timing), even if nothing changes."""

    seconds: float


Result = Done | RequeueAfter


class TemporaryError(Exception):
    """Retry later; `delay` overrides the per-key exponential backoff when given."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """Retrying cannot help until the object changes; it has been reported on the object."""
