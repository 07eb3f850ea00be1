"""The PromQL behind each built-in template name of `canary.api.templates.BuiltinTemplate`.

Every template measures the canary backend only, over `{{ interval }}` — except Envoy
Gateway's, which has no per-backend series and measures the route. Success rates are in
percent, latencies in milliseconds, request counts in requests per window. The labels each
family assumes are documented in docs/metrics.md; this module must stay pure text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from canary.api.comparison import ComparisonTemplate
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


def _envoy_family(cluster: str) -> dict[str, str]:
    """Envoy's per-cluster stats for the clusters `cluster` selects (a label matcher).

    Success rate counts `upstream_rq_xx` by code class on both sides: a connection failure
    (Envoy's own 503) is counted there, but not in `upstream_rq_total`."""
    answers = _series("envoy_cluster_upstream_rq_xx", cluster)
    return {
        "success-rate": _success_rate(
            errors=_series(
                "envoy_cluster_upstream_rq_xx", cluster, 'envoy_response_code_class="5"'
            ),
            requests=answers,
        ),
        # Envoy's request-time histogram is already in milliseconds.
        "latency-p99": _latency_p99(_series("envoy_cluster_upstream_rq_time_bucket", cluster)),
        "request-count": _request_count(answers),
    }


# Contour's Envoy names a backend's cluster `namespace/service/port/hash` and gives it the stat
# name `namespace_service_port` (measured: tests/integration/sandbox/test_contour_templates.py).
_CONTOUR_CLUSTER = (
    'envoy_cluster_name="{{ canary_namespace }}_{{ canary_service }}_{{ canary_port }}"'
)
_CONTOUR = _envoy_family(_CONTOUR_CLUSTER)
# A hand-configured Envoy (and our first sandbox gateway) names it `namespace/service/port`;
# `envoy-*` reads either naming (a namespace, Service name or port never holds a `/` or `_`).
_ENVOY_CLUSTER = (
    'envoy_cluster_name=~"{{ canary_namespace }}[/_]{{ canary_service }}[/_]{{ canary_port }}"'
)
_ENVOY = _envoy_family(_ENVOY_CLUSTER)
# Every per-backend family names the canary Service's own namespace (`canary_namespace`: the
# Canary's unless `spec.canary.namespace` names another). The route is in the Canary's.
# Envoy Gateway makes one cluster per route rule, `httproute/namespace/route/rule/N`, holding
# every backend of the rule: there is no per-backend series, so these measure the whole route.
_ENVOY_GATEWAY = _envoy_family(
    'envoy_cluster_name=~"httproute/{{ namespace }}/{{ route }}/rule/[0-9]+"'
)
_ISTIO = (
    'reporter="destination"',
    'destination_service_namespace="{{ canary_namespace }}"',
    'destination_service_name="{{ canary_service }}"',
)
_APP = ('namespace="{{ canary_namespace }}"', 'service="{{ canary_service }}"')

BUILTIN_QUERIES: Mapping[BuiltinTemplate, str] = MappingProxyType(
    {
        BuiltinTemplate.CONTOUR_SUCCESS_RATE: _CONTOUR["success-rate"],
        BuiltinTemplate.CONTOUR_LATENCY_P99: _CONTOUR["latency-p99"],
        BuiltinTemplate.CONTOUR_REQUEST_COUNT: _CONTOUR["request-count"],
        BuiltinTemplate.ENVOY_GATEWAY_SUCCESS_RATE: _ENVOY_GATEWAY["success-rate"],
        BuiltinTemplate.ENVOY_GATEWAY_LATENCY_P99: _ENVOY_GATEWAY["latency-p99"],
        BuiltinTemplate.ENVOY_GATEWAY_REQUEST_COUNT: _ENVOY_GATEWAY["request-count"],
        BuiltinTemplate.ENVOY_SUCCESS_RATE: _ENVOY["success-rate"],
        BuiltinTemplate.ENVOY_LATENCY_P99: _ENVOY["latency-p99"],
        BuiltinTemplate.ENVOY_REQUEST_COUNT: _ENVOY["request-count"],
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


# --- comparison gates ------------------------------------------------------------------------
# Counts, not rates: a comparison tests requests and errors (or bucket counts) of each backend
# over the same window, the rollout so far. Written for the canary; the sampler renders each a
# second time with the `canary_*` variables set to the stable backend.


def counted_in_window(series: str) -> str:
    """Each series' count in the window: `increase()` for a series that existed before the
    window, the whole value for one born inside it. Envoy creates a backend's per-class
    counters (and an app its series) only at the first request of that kind; `increase()`
    alone loses everything counted before such a series' first scrape — a new canary's first
    requests and first failures."""
    before = f"{series} offset {{{{ interval }}}}"
    return f"((increase({series}{_WINDOW}) and {before}) or ({series} unless {before}))"


def _counts(requests: str, errors: str, buckets: str) -> dict[str, str]:
    return {
        "requests": f"sum({counted_in_window(requests)})",
        # No error series yet means no errors, not "no data".
        "errors": f"sum({counted_in_window(errors)}) or vector(0)",
        "buckets": f"sum by (le) ({counted_in_window(buckets)})",
    }


def _envoy_counts(cluster: str) -> dict[str, str]:
    return _counts(
        _series("envoy_cluster_upstream_rq_xx", cluster),
        _series("envoy_cluster_upstream_rq_xx", cluster, 'envoy_response_code_class="5"'),
        _series("envoy_cluster_upstream_rq_time_bucket", cluster),
    )


COMPARISON_QUERIES: Mapping[ComparisonTemplate, Mapping[str, str]] = MappingProxyType({
    ComparisonTemplate.CONTOUR: _envoy_counts(_CONTOUR_CLUSTER),
    ComparisonTemplate.ENVOY: _envoy_counts(_ENVOY_CLUSTER),
    ComparisonTemplate.ISTIO: _counts(
        _series("istio_requests_total", *_ISTIO),
        _series("istio_requests_total", *_ISTIO, 'response_code=~"5.."'),
        _series("istio_request_duration_milliseconds_bucket", *_ISTIO),
    ),
    ComparisonTemplate.APP: _counts(
        _series("http_requests_total", *_APP),
        _series("http_requests_total", *_APP, 'code=~"5.."'),
        _series("http_request_duration_seconds_bucket", *_APP),
    ),
})

