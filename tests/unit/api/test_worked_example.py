"""The worked example: the YAML in examples/ is a valid Canary and route, and the page in
docs/ shows exactly that YAML (so the two cannot drift apart)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from canary.api import Canary
from canary.core import weights

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
CANARY = REPO / "examples" / "canary-api.yaml"
ROUTE = REPO / "examples" / "httproute-api.yaml"
PAGE = REPO / "docs" / "canary-example.md"


def test_the_example_canary_is_the_classic_five_percent_scenario() -> None:
    canary = Canary.model_validate(yaml.safe_load(CANARY.read_text()))
    assert canary.spec.route_ref.name == "api-route"
    assert (canary.spec.stable.name, canary.spec.canary.name) == ("api-svc-v1", "api-svc-v2")
    assert weights.schedule(canary.spec.steps) == tuple(range(5, 55, 5))
    assert canary.spec.analysis is not None
    assert canary.spec.analysis.metrics[0].template == "envoy-success-rate"


def test_the_example_route_lists_both_backends_of_the_canary() -> None:
    route = yaml.safe_load(ROUTE.read_text())
    assert (route["kind"], route["metadata"]["name"]) == ("HTTPRoute", "api-route")
    refs = {(ref["name"], ref["port"]) for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert refs == {("api-svc-v1", 80), ("api-svc-v2", 80)}


@pytest.mark.parametrize("example", [CANARY, ROUTE], ids=lambda p: p.name)
def test_the_worked_example_page_shows_the_example_files_verbatim(example: Path) -> None:
    assert f"```yaml\n{example.read_text().rstrip()}\n```" in PAGE.read_text()


def test_the_comparison_example_on_the_page_is_a_valid_analysis() -> None:
    page = PAGE.read_text()
    section = page[page.index("## Comparing v2 with v1") :]
    start = section.index("```yaml\n") + 8
    block = section[start : section.index("\n```", start)]
    canary = Canary.model_validate({
        **yaml.safe_load(CANARY.read_text()),
        "spec": {**yaml.safe_load(CANARY.read_text())["spec"], **yaml.safe_load(block)},
    })
    analysis = canary.spec.analysis
    assert analysis is not None
    assert [g.name for g in analysis.comparisons] == ["errors", "latency"]
    assert analysis.comparison_alpha() == 0.005
    assert analysis.metrics[2].fail_early
