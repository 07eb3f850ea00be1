"""Credentials and TLS: sent as configured, verified by default, failures reported as errors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from canary.core.observations import SampleOutcome
from canary.providers.auth import auth_from_secret_data
from canary.providers.base import PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration


def _secret(**values: str) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}


def _basic(server: PrometheusServer, *, password: str | None = None) -> PrometheusEndpoint:
    assert server.basic_auth is not None and server.tls is not None
    secret = _secret(
        username=server.basic_auth.username, password=password or server.basic_auth.password
    )
    base = PrometheusEndpoint(server.url, timeout=5, ca_file=str(server.tls.ca_file))
    return auth_from_secret_data(secret).apply(base)


async def test_basic_auth_from_a_secret_and_a_ca_file_reach_a_secured_prometheus(
    secured_prometheus: PrometheusServer,
) -> None:
    async with PrometheusProvider(_basic(secured_prometheus)) as provider:
        sample = await provider.query("gate", "vector(7)")
    assert (sample.outcome, sample.value) == (SampleOutcome.VALUE, 7.0)


async def test_a_wrong_password_is_an_error_with_the_status_and_a_hint(
    secured_prometheus: PrometheusServer,
) -> None:
    config = _basic(secured_prometheus, password="not-the-password")
    async with PrometheusProvider(config) as provider:
        sample = await provider.query("gate", "vector(7)")
    assert sample.outcome is SampleOutcome.ERROR
    assert "HTTP 401" in sample.error
    assert "credentials" in sample.error
    assert "not-the-password" not in sample.error


async def test_tls_is_verified_by_default_and_an_unknown_ca_is_an_error(
    secured_prometheus: PrometheusServer,
) -> None:
    config = PrometheusEndpoint(secured_prometheus.url, timeout=5)  # system trust store only
    async with PrometheusProvider(config) as provider:
        sample = await provider.query("gate", "vector(7)")
    assert sample.outcome is SampleOutcome.ERROR
    assert "TLS verification" in sample.error
    assert "CERTIFICATE_VERIFY_FAILED" in sample.error


# urllib3 warns once per process about unverified https; that warning is the expected signal.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_turning_verification_off_skips_the_certificate_check(
    secured_prometheus: PrometheusServer,
) -> None:
    assert secured_prometheus.basic_auth is not None
    user = secured_prometheus.basic_auth
    config = PrometheusEndpoint(
        secured_prometheus.url,
        timeout=5,
        verify_tls=False,
        basic_auth=(user.username, user.password),
    )
    async with PrometheusProvider(config) as provider:
        sample = await provider.query("gate", "vector(7)")
    assert sample.outcome is SampleOutcome.VALUE


async def test_a_bearer_token_from_a_secret_is_sent_on_every_query(bearer_gate: Any) -> None:
    gate = bearer_gate  # a loopback gate in front of the real Prometheus; see conftest
    auth = auth_from_secret_data(_secret(token=gate.token + "\n"))
    config = auth.apply(PrometheusEndpoint(gate.url, timeout=5))
    async with PrometheusProvider(config) as provider:
        first = await provider.query("gate", "vector(3)")
        second = await provider.query("gate", "vector(4)")
    assert (first.outcome, first.value) == (SampleOutcome.VALUE, 3.0)
    assert (second.outcome, second.value) == (SampleOutcome.VALUE, 4.0)
    expected = f"Bearer {gate.token}"
    assert gate.seen_authorization == [expected, expected]


async def test_a_wrong_bearer_token_is_an_error(bearer_gate: Any) -> None:
    config = PrometheusEndpoint(bearer_gate.url, timeout=5, bearer_token="wrong")
    async with PrometheusProvider(config) as provider:
        sample = await provider.query("gate", "vector(3)")
    assert sample.outcome is SampleOutcome.ERROR
    assert "HTTP 401" in sample.error
