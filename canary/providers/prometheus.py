"""The Prometheus metric provider: the only module that imports prometheus_api_client.

The client is synchronous, so every query runs in this provider's own small thread pool under
a deadline; a slow server costs threads here, never the event loop or other providers. Foreign
exceptions stop at this boundary and become ERROR samples with a readable message.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from canary.core.observations import MetricSample
from canary.providers.base import PrometheusEndpoint
from canary.providers.results import buckets_from_result, sample_from_result

_STATUS = re.compile(r"HTTP Status Code (\d+) \((b'.*'|b\".*\")\)\Z", re.DOTALL)
_CAUSE = re.compile(r"\[(?:Errno -?\d+|SSL: \w+)\] [^'\"(]+")
_AUTH_HINT = "; check the credentials (bearer token or basic auth) of this provider"


class PrometheusProvider:
    """Queries one Prometheus API; implements `canary.providers.base.MetricProvider`."""

    def __init__(self, config: PrometheusEndpoint) -> None:
        self._config = config
        # Credentials and trust live on the session; the client adds nothing of its own.
        session = requests.Session()
        session.verify = config.ca_file or config.verify_tls
        session.auth = config.basic_auth
        if config.bearer_token:
            session.headers["Authorization"] = f"Bearer {config.bearer_token}"
        self._client = PrometheusConnect(
            url=config.base_url,
            session=session,
            retry=Retry(total=0, raise_on_status=False),  # the reconciler retries, on its own clock
            # Annotated as int, but handed to requests, which takes seconds as a float.
            timeout=config.timeout,  # type: ignore[arg-type]
        )
        self._executor = ThreadPoolExecutor(
            max_workers=config.max_concurrent_queries, thread_name_prefix="prometheus-query"
        )
        self._closed = False

    @property
    def config(self) -> PrometheusEndpoint:
        return self._config

    async def query(self, metric: str, promql: str, *, at: float | None = None) -> MetricSample:
        result, failure = await self._run(promql, at=at)
        if failure:
            return MetricSample.failed(metric, failure, query=promql)
        return sample_from_result(metric, promql, result)

    async def buckets(
        self, promql: str, *, at: float | None = None
    ) -> tuple[tuple[tuple[float, float], ...], str]:
        """Histogram buckets (`canary.providers.base.MetricProvider.buckets`)."""
        result, failure = await self._run(promql, at=at)
        if failure:
            return (), failure
        return buckets_from_result(result)

    async def label_sets(self, promql: str) -> tuple[list[dict[str, str]], str]:
        """The label sets `promql` returns (`canary.providers.base.SeriesLister`)."""
        result, failure = await self._run(promql)
        if failure:
            return [], failure
        if not isinstance(result, list):
            return [], f"the query returns {type(result).__name__}, not an instant vector"
        return [
            {str(k): str(v) for k, v in (series.get("metric") or {}).items()}
            for series in result
            if isinstance(series, dict)
        ], ""

    async def _run(self, promql: str, *, at: float | None = None) -> tuple[Any, str]:
        """The raw result of an instant query (at the Unix time `at`, default now), or a
        failure reason ("" when it answered)."""
        if self._closed:  # e.g. its settings changed while a check was under way
            return None, "the provider was closed"
        loop = asyncio.get_running_loop()
        # Ask Prometheus to give up at the same deadline, so it does not keep evaluating.
        # Plain seconds: Prometheus accepts a float there, but no fraction with a unit.
        params = {"timeout": f"{self._config.timeout:g}"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            async with asyncio.timeout(self._config.timeout):
                result = await loop.run_in_executor(
                    self._executor, self._client.custom_query, promql, params
                )
        except TimeoutError:
            return None, _timed_out(self._config)
        except Exception as exc:  # the boundary: every failure becomes a reason
            return None, describe_failure(exc, self._config)
        return result, ""

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A query stuck on a slow server holds its thread until the client's own timeout.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        self._client.close()

    async def __aenter__(self) -> PrometheusProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def describe_failure(exc: BaseException, config: PrometheusEndpoint) -> str:
    """A one-line reason for a failed query: status and Prometheus' error, or the cause."""
    where = config.base_url
    if isinstance(exc, PrometheusApiClientException):
        return _describe_http_error(str(exc), where)
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"TLS verification of {where} failed ({_root_cause(exc)}); the operator must "
            "trust the CA that signed the server certificate (REQUESTS_CA_BUNDLE or ca_file)"
        )
    if isinstance(exc, requests.exceptions.Timeout | TimeoutError):
        return _timed_out(config)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to Prometheus at {where}: {_root_cause(exc)}"
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return "the credentials cannot be sent in an HTTP header"  # never echo them
    if isinstance(exc, ValueError | KeyError | TypeError):
        return f"{where} did not answer like a Prometheus query API ({type(exc).__name__})"
    return f"query to {where} failed: {type(exc).__name__}: {exc}"[:500]


def _timed_out(config: PrometheusEndpoint) -> str:
    return f"no answer from Prometheus at {config.base_url} within {config.timeout:g}s"


def _describe_http_error(text: str, where: str) -> str:
    match = _STATUS.match(text)
    if match is None:
        return f"Prometheus at {where} failed: {text:.300}"
    status = int(match.group(1))
    body = _bytes_literal(match.group(2))
    hint = _AUTH_HINT if status in (401, 403) else ""
    try:
        answer: Any = json.loads(body)
        detail = f"{answer['errorType']}: {answer['error']}"
    except (ValueError, KeyError, TypeError):
        detail = body.decode("utf-8", errors="replace").strip()[:300] or "empty body"
    return f"Prometheus at {where} answered HTTP {status}: {detail}{hint}"


def _bytes_literal(literal: str) -> bytes:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal.encode()
    return value if isinstance(value, bytes) else literal.encode()


def _root_cause(exc: BaseException) -> str:
    text = str(exc)
    match = _CAUSE.search(text)
    return match.group(0).strip() if match else text[:300]
