"""Foreign exceptions become one readable line: HTTP status and Prometheus' own error text."""

from __future__ import annotations

import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from canary.providers.base import PrometheusEndpoint
from canary.providers.prometheus import describe_failure

pytestmark = pytest.mark.unit

CONFIG = PrometheusEndpoint("http://prom:9090/", timeout=2.5)


def test_a_bad_query_reports_the_status_and_prometheus_error() -> None:
    body = (
        b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \\"}\\""}'
    )
    message = describe_failure(
        PrometheusApiClientException(f"HTTP Status Code 400 ({body!r})"), CONFIG
    )
    assert message == (
        "Prometheus at http://prom:9090 answered HTTP 400: bad_data: "
        '1:5: parse error: unexpected "}"'
    )


def test_an_auth_failure_hints_at_the_credentials() -> None:
    exc = PrometheusApiClientException("HTTP Status Code 401 (b'Unauthorized\\n')")
    message = describe_failure(exc, CONFIG)
    assert message.startswith("Prometheus at http://prom:9090 answered HTTP 401: Unauthorized")
    assert "credentials" in message


def test_a_non_json_error_body_is_quoted_shortly() -> None:
    exc = PrometheusApiClientException("HTTP Status Code 502 (b'" + "x" * 1000 + "')")
    message = describe_failure(exc, CONFIG)
    assert "HTTP 502" in message
    assert len(message) < 400


def test_an_unexpected_client_message_is_kept() -> None:
    message = describe_failure(PrometheusApiClientException("something else"), CONFIG)
    assert "something else" in message


def test_a_refused_connection_names_the_address_and_the_cause() -> None:
    exc = requests.exceptions.ConnectionError(
        "HTTPConnectionPool(host='prom', port=9090): Max retries exceeded (Caused by "
        "NewConnectionError('<conn at 0x1>: Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )
    assert describe_failure(exc, CONFIG) == (
        "cannot connect to Prometheus at http://prom:9090: [Errno 111] Connection refused"
    )


def test_a_tls_failure_says_which_ca_to_trust() -> None:
    exc = requests.exceptions.SSLError(
        "Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1)'"
    )
    message = describe_failure(exc, CONFIG)
    assert "TLS verification of http://prom:9090 failed" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "trust the CA" in message


def test_a_client_timeout_says_how_long_it_waited() -> None:
    message = describe_failure(requests.exceptions.ReadTimeout("read timed out"), CONFIG)
    assert message == "no answer from Prometheus at http://prom:9090 within 2.5s"


def test_an_invalid_header_never_echoes_the_credentials() -> None:
    exc = requests.exceptions.InvalidHeader("Invalid header value: 'Bearer s3cr3t\\n'")
    assert "s3cr3t" not in describe_failure(exc, CONFIG)


def test_an_answer_that_is_not_json_says_so() -> None:
    exc = requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)
    assert "did not answer like a Prometheus query API" in describe_failure(exc, CONFIG)
