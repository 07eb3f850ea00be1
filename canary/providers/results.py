"""Read one Prometheus instant-query result (`data.result`) as one `MetricSample`.

Pure and strict: several series are an ERROR (never "pick one"), an empty vector or NaN is
NO_DATA, and ±Inf is a VALUE: it is a number thresholds can judge (`errors / successes` with no
successes is +Inf, and fails any `max`), whereas NaN (0/0) says there was nothing to measure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from canary.core.observations import MetricSample

_SHOWN_SERIES = 3


def sample_from_result(metric: str, query: str, result: Any) -> MetricSample:
    """Interpret the `result` field of a successful `/api/v1/query` answer."""
    if _is_scalar(result):
        return _from_value(metric, query, result[1])
    if not isinstance(result, list) or not all(isinstance(s, Mapping) for s in result):
        return MetricSample.failed(
            metric, f"unexpected Prometheus result: {result!r:.200}", query=query
        )
    if not result:
        return MetricSample.no_data(metric, query=query)
    if any("values" in series for series in result):
        return MetricSample.failed(
            metric,
            "the query returns a range vector; reduce it to one number per evaluation, "
            "e.g. with rate(...[1m]) or avg_over_time(...[1m])",
            query=query,
        )
    if len(result) > 1:
        shown = ", ".join(_labels(series) for series in result[:_SHOWN_SERIES])
        more = f" and {len(result) - _SHOWN_SERIES} more" if len(result) > _SHOWN_SERIES else ""
        return MetricSample.failed(
            metric,
            f"the query returns {len(result)} series ({shown}{more}); a gate needs exactly "
            "one number: aggregate it, e.g. wrap it in sum(...) or max(...)",
            query=query,
        )
    value = result[0].get("value")
    if not isinstance(value, list) or len(value) != 2:
        return MetricSample.failed(
            metric, f"unexpected Prometheus sample: {value!r:.200}", query=query
        )
    return _from_value(metric, query, value[1])


def _is_scalar(result: Any) -> bool:
    return (
        isinstance(result, list)
        and len(result) == 2
        and isinstance(result[0], int | float)
        and isinstance(result[1], str)
    )


def _from_value(metric: str, query: str, raw: Any) -> MetricSample:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return MetricSample.failed(
            metric, f"the query returns a string, not a number: {raw!r:.80}", query=query
        )
    if math.isnan(value):
        return MetricSample.no_data(metric, query=query)
    return MetricSample.of(metric, value, query=query)


def _labels(series: Mapping[str, Any]) -> str:
    labels = series.get("metric") or {}
    inner = ", ".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
    return "{" + inner + "}"


def buckets_from_result(result: Any) -> tuple[tuple[tuple[float, float], ...], str]:
    """Read a vector of histogram buckets, one series per `le`: the (le, count) pairs in
    ascending order and "" — or none and what is wrong with the result. NaN counts (no
    requests in the window) are 0."""
    if not isinstance(result, list) or not all(isinstance(s, Mapping) for s in result):
        return (), f"unexpected Prometheus result: {result!r:.200}"
    found: dict[float, float] = {}
    for series in result:
        le = (series.get("metric") or {}).get("le")
        value = series.get("value")
        if le is None:
            return (), (
                f"a bucket series without an `le` label ({_labels(series)}); aggregate the "
                "buckets by le, e.g. sum by (le) (increase(x_bucket[...]))"
            )
        if not isinstance(value, list) or len(value) != 2:
            return (), f"unexpected Prometheus sample: {value!r:.200}"
        try:
            bound, count = float(le), float(value[1])
        except (TypeError, ValueError):
            return (), f"a bucket that is not a number: le={le!r:.40}, value={value[1]!r:.40}"
        if bound in found:
            return (), (
                f"several series for le={le}; aggregate the buckets by le, e.g. "
                "sum by (le) (...)"
            )
        found[bound] = 0.0 if math.isnan(count) else count
    return tuple(sorted(found.items())), ""

