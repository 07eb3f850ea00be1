"""The sampler resolves a Canary's Prometheus settings and Secret before any query runs."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from canary.api.spec import CanarySpec
from canary.core.observations import SampleOutcome
from canary.kube.resources import SECRET, JsonObj, Resource
from canary.providers.sampler import GateSampler

pytestmark = pytest.mark.unit


class SecretStore:
    def __init__(self, secrets: dict[str, dict[str, str]]) -> None:
        self.secrets = secrets
        self.reads: list[tuple[str, str | None]] = []

    async def get_or_none(self, res: Resource, name: str,
                          namespace: str | None = None) -> JsonObj | None:
        assert res == SECRET
        self.reads.append((name, namespace))
        data = self.secrets.get(name)
        if data is None:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def spec(**prometheus: Any) -> CanarySpec:
    return CanarySpec.model_validate({
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-svc-v1", "port": 8080},
        "canary": {"name": "api-svc-v2", "port": 8080},
        "steps": {"weights": [10, 50], "interval": "30s"},
        "analysis": {
            "prometheus": prometheus,
            "metrics": [{"name": "success", "template": "envoy-success-rate", "min": 99}],
            "minRequests": {"count": 10, "template": "envoy-request-count"},
        },
    })


def sampler(store: SecretStore) -> GateSampler:
    return GateSampler(store, default_address="http://127.0.0.1:9")


async def test_a_bearer_token_secret_becomes_the_provider_credentials() -> None:
    store = SecretStore({"prom": {"token": "s3cret\n"}})
    config = await sampler(store)._config("team", spec(secretRef={"name": "prom"}).analysis
                                          .prometheus)  # type: ignore[union-attr]
    assert config.bearer_token == "s3cret"
    assert config.address == "http://127.0.0.1:9"
    assert store.reads == [("prom", "team")]


async def test_a_missing_secret_makes_every_gate_an_error_that_names_it() -> None:
    running = sampler(SecretStore({}))
    samples, guard = await running.sample("team", "api", spec(secretRef={"name": "prom"}))
    await running.aclose()
    assert [s.outcome for s in samples] == [SampleOutcome.ERROR]
    assert guard is not None and guard.outcome is SampleOutcome.ERROR
    assert "Secret team/prom" in samples[0].error and "does not exist" in samples[0].error


async def test_a_secret_without_credentials_is_an_error_listing_its_keys() -> None:
    running = sampler(SecretStore({"prom": {"ca.crt": "..."}}))
    samples, _ = await running.sample("team", "api", spec(secretRef={"name": "prom"}))
    await running.aclose()
    assert samples[0].outcome is SampleOutcome.ERROR
    assert "ca.crt" in samples[0].error


async def test_the_canary_address_and_timeout_override_the_operator_defaults() -> None:
    config = await sampler(SecretStore({}))._config(
        "team", spec(address="https://prom.example:9090", timeout="3s",
                     insecureSkipVerify=True).analysis.prometheus)  # type: ignore[union-attr]
    assert (config.address, config.timeout, config.verify_tls) == (
        "https://prom.example:9090", 3.0, False)
