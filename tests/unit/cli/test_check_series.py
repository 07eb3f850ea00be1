"""`canary check` on a gate with no data: it names the selector that matches no series, and the
series Prometheus has instead (a fake Prometheus answers)."""

from __future__ import annotations

import pytest
from harness.values import query_variables

from canary.api.templates import BuiltinTemplate
from canary.cli.findings import Severity
from canary.cli.series import series_findings
from canary.core.observations import MetricSample
from canary.providers.selectors import family_query, identity_selectors
from canary.providers.templates import builtin_query

pytestmark = pytest.mark.unit

VARIABLES = query_variables().as_mapping()  # shop, web-stable/web-canary on 8080, route web-route


class FakePrometheus:
    """Answers `count(selector)` from a set of existing selectors, and listings from a table."""

    def __init__(self, existing: set[str], listings: dict[str, list[dict[str, str]]]) -> None:
        self.existing = existing
        self.listings = listings
        self.asked: list[str] = []

    async def query(self, metric: str, promql: str, *, at: float | None = None) -> MetricSample:
        self.asked.append(promql)
        inner = promql.removeprefix("count(").removesuffix(")")
        if inner in self.existing:
            return MetricSample.of(metric, 3, query=promql)
        return MetricSample.no_data(metric, query=promql)

    async def buckets(
        self, promql: str, *, at: float | None = None
    ) -> tuple[tuple[tuple[float, float], ...], str]:
        self.asked.append(promql)
        return (), ""

    async def label_sets(self, promql: str) -> tuple[list[dict[str, str]], str]:
        self.asked.append(promql)
        return self.listings.get(promql, []), ""

    async def aclose(self) -> None:
        pass


def _clusters(*names: str) -> list[dict[str, str]]:
    return [{"envoy_cluster_name": name} for name in names]


async def test_a_contour_template_on_the_sandbox_naming_names_the_clusters_that_exist() -> None:
    # The stable Service sorts before the canary's: the order below is by relevance.
    variables = query_variables(stable_service="api-a", canary_service="api-b").as_mapping()
    prometheus = FakePrometheus(
        set(),
        {
            "count by (envoy_cluster_name) (envoy_cluster_upstream_rq_xx)": _clusters(
                "other/api/80", "shop/api-a/8080", "shop/api-b/8080", "shop/a/80"
            ),
        },
    )
    template = builtin_query(BuiltinTemplate.CONTOUR_SUCCESS_RATE)

    found = await series_findings(prometheus, "metric sr", template, variables, quiet=False)

    assert len(found) == 1
    finding = found[0]
    assert finding.severity is Severity.WARNING
    assert 'envoy_cluster_name="shop_api-b_8080"' in finding.message
    assert "no traffic yet" not in finding.message
    # The canary's own cluster first, then the stable one, then the namespace's, then the rest.
    assert finding.hint.index("shop/api-b/8080") < finding.hint.index("shop/api-a/8080")
    assert finding.hint.index("shop/api-a/8080") < finding.hint.index("shop/a/80")
    assert finding.hint.index("shop/a/80") < finding.hint.index("other/api/80")


async def test_an_absent_metric_names_the_template_families_prometheus_has() -> None:
    prometheus = FakePrometheus(
        set(),
        {
            family_query(): [{"__name__": "envoy_cluster_upstream_rq_xx"}],
        },
    )
    template = builtin_query(BuiltinTemplate.ISTIO_SUCCESS_RATE)

    found = await series_findings(prometheus, "metric sr", template, VARIABLES, quiet=True)

    assert len(found) == 1
    assert "istio_requests_total" in found[0].message
    assert "no traffic yet" in found[0].message
    assert "no istio_requests_total at all" in found[0].hint
    assert "envoy_cluster_upstream_rq_xx (templates contour-*" in found[0].hint


async def test_a_gate_whose_series_exist_gets_no_extra_warning() -> None:
    template = builtin_query(BuiltinTemplate.CONTOUR_LATENCY_P99)
    (selector,) = identity_selectors(template)
    prometheus = FakePrometheus({selector.rendered(VARIABLES)}, {})

    assert await series_findings(prometheus, "metric p99", template, VARIABLES, quiet=False) == []
    assert not any(q.startswith("count by") for q in prometheus.asked)


def test_only_matchers_on_the_canarys_values_are_checked_not_constant_ones() -> None:
    selectors = identity_selectors(builtin_query(BuiltinTemplate.CONTOUR_SUCCESS_RATE))
    # Errors and answers select the same cluster: one check; the 5xx class may rightly be absent.
    assert [s.template for s in selectors] == [
        'envoy_cluster_upstream_rq_xx{envoy_cluster_name="{{ canary_namespace }}_'
        '{{ canary_service }}_{{ canary_port }}"}'
    ]


def test_an_inline_query_is_read_too_and_one_without_placeholders_has_nothing_to_check() -> None:
    inline = (
        'sum(rate(checkout_failures_total{namespace="{{ namespace }}", code=~"5..", '
        "service='{{ canary_service }}'}[{{ interval }}]))"
    )
    (selector,) = identity_selectors(inline)
    assert selector.metric == "checkout_failures_total"
    assert selector.labels == ("namespace", "service")
    assert selector.rendered(VARIABLES) == (
        "checkout_failures_total{namespace=\"shop\", service='web-canary'}"
    )
    assert selector.present_query == "count by (namespace, service) (checkout_failures_total)"
    assert identity_selectors("sum(rate(up[{{ interval }}]))") == []
