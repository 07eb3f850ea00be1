"""The metric provider interface and its connection settings.

A provider answers one query with one `MetricSample` and never raises for a failed query: an
unreachable server, a timeout or bad PromQL is an ERROR sample, an empty or NaN result NO_DATA.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from canary.core.observations import MetricSample

# RFC 6750 token68 is stricter; anything printable without spaces is what a header can carry.
_TOKEN = re.compile(r"[\x21-\x7e]+")


class MetricProvider(Protocol):
    """Runs queries against one metrics backend."""

    async def query(self, metric: str, promql: str, *, at: float | None = None) -> MetricSample:
        """Evaluate `promql` now (or at the Unix time `at`); `metric` names the gate the sample
        belongs to.

        Returns VALUE, NO_DATA or ERROR; only cancellation propagates as an exception.
        """
        ...

    async def buckets(
        self, promql: str, *, at: float | None = None
    ) -> tuple[tuple[tuple[float, float], ...], str]:
        """Evaluate `promql`, a vector with one series per `le` (histogram buckets), now (or at
        the Unix time `at`): the
        (le, count) pairs in ascending order and "" — or none and the reason it failed. An
        empty vector is no pairs and ""."""
        ...

    async def aclose(self) -> None:
        """Release connections and worker threads; waits for in-flight queries to give up."""
        ...


@runtime_checkable
class SeriesLister(Protocol):
    """A provider that can also list the series a query returns: for diagnostics (`canary
    check` naming the series present when a gate has none), never for a gate's value."""

    async def label_sets(self, promql: str) -> tuple[list[dict[str, str]], str]:
        """The label sets of the instant vector `promql` returns, and "" — or no label sets
        and the reason the query failed."""
        ...


@dataclass(frozen=True)
class PrometheusEndpoint:
    """How to reach one Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics).

    Credentials arrive as plain values (the reconciler resolves Secrets, see
    `canary.providers.auth`) and are kept out of `repr()` so they never reach a log line.
    """

    address: str
    """Base URL, e.g. `http://prometheus.monitoring:9090` or `https://host/prometheus`."""
    timeout: float = 5.0
    """Seconds one query may take, end to end; past it the sample is an ERROR."""
    bearer_token: str | None = field(default=None, repr=False)
    """Sent as `Authorization: Bearer <token>`."""
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    """(username, password) for HTTP basic auth; exclusive with `bearer_token`."""
    verify_tls: bool = True
    """Verify the server certificate of an https address. Turning it off is for sandboxes."""
    ca_file: str | None = None
    """PEM bundle to verify the server with, instead of the default bundle (certifi's, or
    `$REQUESTS_CA_BUNDLE`)."""
    max_concurrent_queries: int = 8
    """Worker threads for this server: queries beyond it wait (within their timeout)."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.address)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Prometheus address must be an http(s) URL, got {self.address!r}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.max_concurrent_queries < 1:
            raise ValueError("max_concurrent_queries must be at least 1")
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError("use either a bearer token or basic auth, not both")
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is set but verify_tls is off: choose one")
        if self.bearer_token is not None and not _TOKEN.fullmatch(self.bearer_token):
            # The value itself is never echoed: it is a credential.
            raise ValueError(
                "bearer token is empty or contains whitespace or control "
                "characters (a trailing newline in the Secret?)"
            )
        if self.basic_auth is not None and (":" in self.basic_auth[0] or not self.basic_auth[0]):
            raise ValueError("basic auth username must be non-empty and contain no ':'")

    @property
    def base_url(self) -> str:
        return self.address.rstrip("/")
