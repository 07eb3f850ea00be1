"""Providers by name: a known name builds its provider, an unknown one is an explicit error."""

from __future__ import annotations

import pytest

from canary.core.observations import SampleOutcome
from canary.providers.base import MetricProvider, PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider
from canary.providers.registry import PROVIDERS, UnknownProviderError, create_provider

pytestmark = pytest.mark.unit

CONFIG = PrometheusEndpoint("http://127.0.0.1:9")


async def test_prometheus_is_a_registered_provider() -> None:
    provider = create_provider("prometheus", CONFIG)
    try:
        assert isinstance(provider, PrometheusProvider)
        assert provider.config is CONFIG
    finally:
        await provider.aclose()


def test_an_unknown_provider_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(
        UnknownProviderError, match="unknown metric provider 'datadog'; known: prometheus"
    ):
        create_provider("datadog", CONFIG)


def test_names_are_not_matched_loosely() -> None:
    with pytest.raises(UnknownProviderError):
        create_provider("Prometheus", CONFIG)
    assert list(PROVIDERS) == ["prometheus"]


async def test_the_prometheus_provider_satisfies_the_protocol() -> None:
    provider: MetricProvider = PrometheusProvider(CONFIG)
    await provider.aclose()
    await provider.aclose()  # closing twice is harmless


async def test_a_closed_provider_answers_with_an_error_sample_instead_of_raising() -> None:
    provider = PrometheusProvider(CONFIG)
    await provider.aclose()
    sample = await provider.query("gate", "vector(1)")
    assert sample.outcome is SampleOutcome.ERROR
    assert sample.error == "the provider was closed"
