"""Metric providers by name. The Canary API has no `provider` field yet: every gate is a
Prometheus query, and the sampler asks for `prometheus`. A second provider is added here, with
the spec field that names it.

An unknown name is an `UnknownProviderError`, never a silent fallback to a default provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from canary.providers.base import MetricProvider, PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider

ProviderFactory = Callable[[PrometheusEndpoint], MetricProvider]

PROVIDERS: Mapping[str, ProviderFactory] = MappingProxyType(
    {
        "prometheus": PrometheusProvider,
    }
)


class UnknownProviderError(LookupError):
    """The Canary names a provider this operator does not have."""


def create_provider(name: str, config: PrometheusEndpoint) -> MetricProvider:
    """A new provider of kind `name`; the caller owns it and must `aclose()` it."""
    factory = PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownProviderError(f"unknown metric provider {name!r}; known: {known}")
    return factory(config)
