"""`check -f`: every Canary in a file is validated with the API model; errors name the field
(an unknown template lists the known ones), and misspelt fields that the API server would drop
silently are warned about; a query that can never be rendered blocks."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from canary.api.resource import Canary
from canary.cli.findings import Severity
from canary.cli.manifest import field_path, load_manifests, validation_findings
from canary.cli.preflight import in_cluster

pytestmark = pytest.mark.unit


def canary(name: str = "api", **spec: object) -> dict[str, object]:
    body: dict[str, object] = {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-v1", "port": 8080},
        "canary": {"name": "api-v2", "port": 8080},
        "steps": {"weights": [5, 50]},
        **spec,
    }
    return {
        "apiVersion": "rollouts.canary-operator.io/v1alpha1",
        "kind": "Canary",
        "metadata": {"name": name},
        "spec": body,
    }


def test_a_valid_canary_takes_the_default_namespace_and_has_no_findings() -> None:
    (manifest,) = load_manifests(yaml.safe_dump(canary()), "c.yaml", "shop")
    assert manifest.canary is not None and manifest.canary.metadata.namespace == "shop"
    assert manifest.title == "shop/api" and manifest.findings == ()


def test_an_unknown_template_is_named_with_the_known_ones() -> None:
    doc = canary(analysis={"metrics": [{"name": "sr", "template": "envoy-succes-rate", "min": 1}]})
    (manifest,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "shop")
    assert manifest.canary is None
    (finding,) = manifest.findings
    assert finding.severity is Severity.BLOCKER
    assert finding.subject == "spec.analysis.metrics[0].template"
    assert finding.message == "unknown metric template 'envoy-succes-rate'"
    assert "envoy-success-rate" in finding.hint


def test_a_rule_violation_is_reported_without_pydantic_noise() -> None:
    doc = canary(steps={"weights": [50, 5]})
    (manifest,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "shop")
    assert [f.message for f in manifest.findings] == [
        "weights must be strictly increasing, e.g. [5, 10, 25, 50]"
    ]


def test_misspelt_fields_are_warned_about_even_in_lists() -> None:
    doc = canary(
        steps={"weights": [5], "intervall": "5s"},
        analysis={"metrics": [{"name": "sr", "query": "up", "min": 1, "mx": 2}]},
    )
    (manifest,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "shop")
    assert manifest.canary is not None
    assert sorted(f.subject for f in manifest.findings) == [
        "spec.analysis.metrics[0].mx",
        "spec.steps.intervall",
    ]
    assert all(f.severity is Severity.WARNING for f in manifest.findings)


def test_every_canary_of_a_multi_document_file_is_read_and_others_ignored() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    text = yaml.safe_dump_all([service, canary("a"), canary("b")])
    manifests = load_manifests(text, "all.yaml", "shop")
    assert [m.title for m in manifests] == ["shop/a", "shop/b"]
    assert manifests[0].source == "all.yaml (document 2)"


def test_broken_yaml_and_a_file_without_canary_block() -> None:
    (broken,) = load_manifests("spec: [", "c.yaml", "shop")
    assert broken.findings[0].severity is Severity.BLOCKER and broken.findings[0].subject == "yaml"
    (empty,) = load_manifests("kind: Service\n", "c.yaml", "shop")
    assert "no Canary" in empty.findings[0].message


def test_field_paths_read_like_the_spec() -> None:
    assert field_path(("spec", "analysis", "metrics", 0, "template")) == (
        "spec.analysis.metrics[0].template"
    )


def test_a_query_that_can_never_be_rendered_blocks_and_names_the_gate() -> None:
    metrics = [
        {"name": "fine", "query": 'x{c="{{ canary }}"}', "max": 1},
        {"name": "unclosed", "query": 'x{c="{{ canary }"}', "max": 1},
        {"name": "bare", "query": "x / {{ namespace }}", "max": 1},
    ]
    doc = canary(analysis={"metrics": metrics, "minRequests": {"count": 5, "query": "{{ route }}"}})
    (manifest,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "my-shop")
    assert manifest.canary is not None, "the API server accepts this spec"
    assert [(f.severity, f.subject) for f in manifest.findings] == [
        (Severity.BLOCKER, "spec.analysis.metrics[1] (unclosed)"),
        (Severity.BLOCKER, "spec.analysis.metrics[2] (bare)"),
        (Severity.BLOCKER, "spec.analysis.minRequests"),
    ]
    unclosed, bare, guard = manifest.findings
    assert unclosed.message.startswith("the query cannot be rendered: malformed placeholder")
    assert "Quote the placeholder" in bare.message and "'my-shop'" in bare.message
    assert "'api-route'" in guard.message
    assert "InvalidSpec" in unclosed.hint and "no traffic" in unclosed.hint


def test_a_bare_name_that_is_a_bare_token_renders_for_this_namespace() -> None:
    doc = canary(analysis={"metrics": [{"name": "bare", "query": "x / {{ namespace }}", "max": 1}]})
    (fine,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "shop")
    assert fine.findings == ()
    (other,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "my-shop")
    assert [f.subject for f in other.findings] == ["spec.analysis.metrics[0] (bare)"]


def test_a_canary_in_the_cluster_is_checked_the_same_way() -> None:
    doc = canary(analysis={"metrics": [{"name": "unclosed", "query": '"{{ canary"', "max": 1}]})
    doc["metadata"] = {"name": "api", "namespace": "shop", "generation": 1}
    manifest = in_cluster(doc)
    assert manifest.canary is not None
    assert [f.subject for f in manifest.findings if f.severity is Severity.BLOCKER] == [
        "spec.analysis.metrics[0] (unclosed)"
    ]


def test_a_misspelt_template_is_answered_with_the_closest_names_first() -> None:
    manifest = {
        "apiVersion": "rollouts.canary-operator.io/v1alpha1",
        "kind": "Canary",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "routeRef": {"name": "r"},
            "stable": {"name": "a", "port": 80},
            "canary": {"name": "b", "port": 80},
            "analysis": {"metrics": [{"name": "sr", "template": "contour-succes-rate", "min": 1}]},
        },
    }
    try:
        Canary.model_validate(manifest)
    except ValidationError as exc:
        [finding] = [f for f in validation_findings(exc) if "template" in f.subject]
    else:
        raise AssertionError("a misspelt template validated")
    assert finding.hint.startswith("use one of contour-success-rate, ")


def test_a_misspelt_comparison_template_is_answered_with_the_comparison_families() -> None:
    gate = {"name": "errors", "compare": {"errorRate": {"template": "contuor"}}}
    doc = canary(analysis={"metrics": [gate]})
    (manifest,) = load_manifests(yaml.safe_dump(doc), "c.yaml", "shop")
    (finding,) = manifest.findings
    assert finding.subject == "spec.analysis.metrics[0].compare.errorRate.template"
    assert finding.message == "unknown comparison template 'contuor'"
    assert finding.hint.startswith("use one of contour, ")
