"""Connection settings: invalid combinations fail early and credentials stay out of repr()."""

from __future__ import annotations

import pytest

from canary.providers.base import PrometheusEndpoint

pytestmark = pytest.mark.unit


def test_tls_verification_is_on_by_default() -> None:
    assert PrometheusEndpoint("https://prom:9090").verify_tls is True


def test_credentials_never_appear_in_repr() -> None:
    token = repr(PrometheusEndpoint("http://p:9090", bearer_token="s3cr3t"))
    basic = repr(PrometheusEndpoint("http://p:9090", basic_auth=("ops", "hunter2")))
    assert "s3cr3t" not in token
    assert "hunter2" not in basic


def test_the_base_url_has_no_trailing_slash() -> None:
    assert PrometheusEndpoint("http://host/prometheus/").base_url == "http://host/prometheus"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"address": "prom:9090"}, "http"),
        ({"address": "ftp://prom"}, "http"),
        ({"timeout": 0}, "positive"),
        ({"timeout": float("nan")}, "positive"),
        ({"max_concurrent_queries": 0}, "at least 1"),
        ({"bearer_token": "t", "basic_auth": ("u", "p")}, "not both"),
        ({"ca_file": "/ca.pem", "verify_tls": False}, "choose one"),
        ({"bearer_token": "abc\n"}, "trailing newline"),
        ({"bearer_token": ""}, "empty"),
        ({"basic_auth": ("a:b", "p")}, "no ':'"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"address": "http://prom:9090", **kwargs}
    with pytest.raises(ValueError, match=message):
        PrometheusEndpoint(**settings)  # type: ignore[arg-type]
