"""The PromQL behind each built-in template name of `canary.api.templates.BuiltinTemplate`.

Every template measures the canary backend only, over `{{ interval }}`. Success rates are in
percent, latencies in milliseconds, request counts in requests per window. The labels each
family assumes are documented in docs/metrics.md; this module must stay pure text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from canary.api.templates import BuiltinTemplate

_WINDOW = "[{{ interval }}]"


def _series(name: str, *matchers: str) -> str:
    return name + "{" + ", ".join(matchers) + "}"


def _success_rate(*, errors: str, requests: str) -> str:
    # Error series appear only after the first error, hence `or vector(0)`; an absent total
    # (no series) or a zero total (0/0 = NaN) stays "no data" rather than becoming 100%.
    return (
        f"100 * (1 - (sum(rate({errors}{_WINDOW})) or vector(0)) / sum(rate({requests}{_WINDOW})))"
    )


def _latency_p99(buckets: str) -> str:
    return f"histogram_quantile(0.99, sum by (le) (rate({buckets}{_WINDOW})))"


def _request_count(requests: str) -> str:
    return f"sum(increase({requests}{_WINDOW}))"


# Our sandbox gateway names the Envoy cluster of a backend `namespace/service/port`.
_ENVOY = 'envoy_cluster_name="{{ namespace }}/{{ canary_service }}/{{ canary_port }}"'
_ISTIO = (
    'reporter="destination"',
    'destination_service_namespace="{{ namespace }}"',
    'destination_service_name="{{ canary_service }}"',
)
_APP = ('namespace="{{ namespace }}"', 'service="{{ canary_service }}"')

BUILTIN_QUERIES: Mapping[BuiltinTemplate, str] = MappingProxyType(
    {
        BuiltinTemplate.ENVOY_SUCCESS_RATE: _success_rate(
            errors=_series("envoy_cluster_upstream_rq_xx", _ENVOY, 'envoy_response_code_class="5"'),
            requests=_series("envoy_cluster_upstream_rq", _ENVOY),
        ),
        BuiltinTemplate.ENVOY_LATENCY_P99: _latency_p99(
            _series("envoy_cluster_upstream_rq_time_bucket", _ENVOY)
        ),
        BuiltinTemplate.ENVOY_REQUEST_COUNT: _request_count(
            _series("envoy_cluster_upstream_rq", _ENVOY)
        ),
        BuiltinTemplate.ISTIO_SUCCESS_RATE: _success_rate(
            errors=_series("istio_requests_total", *_ISTIO, 'response_code=~"5.."'),
            requests=_series("istio_requests_total", *_ISTIO),
        ),
        BuiltinTemplate.ISTIO_LATENCY_P99: _latency_p99(
            _series("istio_request_duration_milliseconds_bucket", *_ISTIO)
        ),
        BuiltinTemplate.ISTIO_REQUEST_COUNT: _request_count(
            _series("istio_requests_total", *_ISTIO)
        ),
        BuiltinTemplate.APP_SUCCESS_RATE: _success_rate(
            errors=_series("http_requests_total", *_APP, 'code=~"5.."'),
            requests=_series("http_requests_total", *_APP),
        ),
        # Application histograms are in seconds (the Prometheus convention); gates are in ms.
        BuiltinTemplate.APP_LATENCY_P99: "1000 * "
        + _latency_p99(_series("http_request_duration_seconds_bucket", *_APP)),
        BuiltinTemplate.APP_REQUEST_COUNT: _request_count(_series("http_requests_total", *_APP)),
    }
)


def builtin_query(name: BuiltinTemplate | str) -> str:
    """The query template of a built-in name; an unknown name is a `KeyError` naming the choices."""
    try:
        return BUILTIN_QUERIES[BuiltinTemplate(name)]
    except ValueError:
        known = ", ".join(t.value for t in BuiltinTemplate)
        raise KeyError(f"unknown built-in template {name!r}; known: {known}") from None
