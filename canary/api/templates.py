"""Names of the built-in metric templates, as written in `spec.analysis.metrics[].template`.

Only the names live here (the API validates against them); the PromQL of each template lives
in `canary.providers.templates`, which must define exactly these names.
"""

from __future__ import annotations

from enum import StrEnum


class BuiltinTemplate(StrEnum):
    """Built-in metric templates: success rate (percent of non-5xx responses), p99 latency
    (milliseconds) and request count (requests in the window), named for the implementation
    whose series they read: Contour's Envoy, Envoy Gateway's Envoy (per route rule: it has no
    per-backend series), Istio's standard metrics, or the application's own HTTP metrics.
    `envoy-*` reads Envoy's per-backend cluster stats under either naming
    (`namespace/service/port` or Contour's) and is kept for compatibility."""

    CONTOUR_SUCCESS_RATE = "contour-success-rate"
    CONTOUR_LATENCY_P99 = "contour-latency-p99"
    CONTOUR_REQUEST_COUNT = "contour-request-count"
    ENVOY_GATEWAY_SUCCESS_RATE = "envoy-gateway-success-rate"
    ENVOY_GATEWAY_LATENCY_P99 = "envoy-gateway-latency-p99"
    ENVOY_GATEWAY_REQUEST_COUNT = "envoy-gateway-request-count"
    ENVOY_SUCCESS_RATE = "envoy-success-rate"
    ENVOY_LATENCY_P99 = "envoy-latency-p99"
    ENVOY_REQUEST_COUNT = "envoy-request-count"
    ISTIO_SUCCESS_RATE = "istio-success-rate"
    ISTIO_LATENCY_P99 = "istio-latency-p99"
    ISTIO_REQUEST_COUNT = "istio-request-count"
    APP_SUCCESS_RATE = "app-success-rate"
    APP_LATENCY_P99 = "app-latency-p99"
    APP_REQUEST_COUNT = "app-request-count"
