"""`canary watch`'s default split query selects a backend's cluster under the sandbox
gateway's naming (`ns/svc/port`) and Contour's stat name (`ns_svc_port`), and nothing else."""

from __future__ import annotations

import re

import pytest

from canary.cli.split import DEFAULT_SPLIT_QUERY
from canary.providers.render import render

pytestmark = pytest.mark.unit


def _pattern(namespace: str, service: str, port: int) -> str:
    variables = {"namespace": namespace, "service": service, "port": str(port), "interval": "30s"}
    rendered = render(DEFAULT_SPLIT_QUERY, variables)
    match = re.search(r'envoy_cluster_name=~"([^"]*)"', rendered)
    assert match is not None, rendered
    assert "envoy_cluster_upstream_rq_xx" in rendered  # connect failures counted too
    return match.group(1).replace("\\\\", "\\")  # PromQL string escapes -> the regex


@pytest.mark.parametrize("cluster", ["shop/web.v2/8080", "shop_web.v2_8080"])
def test_it_matches_the_sandbox_and_the_contour_naming(cluster: str) -> None:
    assert re.fullmatch(_pattern("shop", "web.v2", 8080), cluster)


@pytest.mark.parametrize(
    "cluster",
    [
        "shop_webxv2_8080",  # the `.` of the name is literal
        "shop_web.v2_80800",
        "shop/web.v2/8080/da39a3ee5e",  # Envoy's own name under Contour, not its stat name
        "httproute/shop/web/rule/0",  # Envoy Gateway: per rule, not per backend
    ],
)
def test_it_matches_no_other_cluster(cluster: str) -> None:
    assert not re.fullmatch(_pattern("shop", "web.v2", 8080), cluster)
