"""The generated CRD and reference: up to date with the models, structural (as a kube-apiserver
requires), bounded where CEL needs it, documented everywhere, with the names and columns
users type and read."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from canary.api import CanarySpec
from canary.api.crd import canary_crd
from canary.api.crdgen import CRD_PATH, REFERENCE_PATH, main, rendered, stale
from canary.api.model import ApiModel
from canary.api.schema import SchemaError, structural_schema

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
FORBIDDEN = {"anyOf", "oneOf", "allOf", "$ref", "$defs", "title", "const", "uniqueItems",
             "additionalProperties", "examples", "exclusiveMinimum", "exclusiveMaximum"}


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")


def version() -> dict[str, Any]:
    found: dict[str, Any] = canary_crd()["spec"]["versions"][0]
    return found


def open_api() -> dict[str, Any]:
    found: dict[str, Any] = version()["schema"]["openAPIV3Schema"]
    return found


def test_the_generated_files_in_the_repository_are_up_to_date() -> None:
    outdated = stale(REPO)
    assert outdated == [], f"stale: {outdated}; run `python -m canary.api.crdgen`"


def test_check_mode_fails_on_a_stale_file_and_write_mode_fixes_it(tmp_path: Path) -> None:
    for path in rendered():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, tmp_path / path)
    assert main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / CRD_PATH).write_text("stale\n")
    (tmp_path / REFERENCE_PATH).unlink()
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_the_crd_file_is_the_yaml_of_the_generated_manifest() -> None:
    assert yaml.safe_load((REPO / CRD_PATH).read_text()) == canary_crd()


def test_the_schema_is_structural() -> None:
    for path, node in nodes(open_api()):
        assert "type" in node, f"{path or '<root>'} has no type"
        assert not FORBIDDEN & node.keys(), f"{path} uses {FORBIDDEN & node.keys()}"
        if node["type"] == "object" and path not in (".metadata",):
            assert "properties" in node, f"{path} is an object without properties"


def test_every_string_is_bounded_and_every_list_has_a_maximum() -> None:
    """CEL cost estimation needs bounds, and so does a sane status size."""
    for path, node in nodes(open_api()):
        if node["type"] == "string" and path not in (".apiVersion", ".kind"):
            bounded = "maxLength" in node or "enum" in node or node.get("format") == "date-time"
            assert bounded, f"{path} is an unbounded string"
        if node["type"] == "array":
            assert "maxItems" in node, f"{path} is an unbounded list"


def test_every_spec_field_is_documented_for_kubectl_explain() -> None:
    for path, node in nodes(open_api()["properties"]["spec"], ".spec"):
        if not path.endswith("[]"):  # list items are described by their list
            assert node.get("description"), f"{path} has no description"


def test_the_status_schema_carries_no_defaults() -> None:
    for path, node in nodes(open_api()["properties"]["status"], ".status"):
        assert "default" not in node, f"{path} has a default"


def test_object_defaults_are_spelled_out_so_nested_defaults_apply() -> None:
    spec = open_api()["properties"]["spec"]["properties"]
    assert spec["promotion"]["default"] == {"mode": "Weights", "restartFromStable": False}
    assert spec["analysis"]["properties"]["prometheus"]["default"] == {
        "insecureSkipVerify": False, "timeout": "10s"}
    assert "default" not in spec["analysis"]  # absent means: no analysis


def test_every_python_rule_is_also_a_cel_rule_in_the_crd() -> None:
    in_crd = {
        rule["rule"]
        for _, node in nodes(open_api())
        for rule in node.get("x-kubernetes-validations", ())
    }
    in_models = {rule.cel for model in _models(CanarySpec) for rule in model.cel_rules}
    assert in_models and in_models == in_crd


def _models(model: type[ApiModel]) -> set[type[ApiModel]]:
    found = {model}
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            kind = stack.pop()
            stack.extend(getattr(kind, "__args__", ()))
            if isinstance(kind, type) and issubclass(kind, ApiModel) and kind not in found:
                found |= _models(kind)
    return found


def test_names_scope_and_subresources_are_what_users_type() -> None:
    crd = canary_crd()
    names = crd["spec"]["names"]
    assert crd["metadata"]["name"] == "canaries.rollouts.canary-operator.io"
    assert crd["spec"]["group"] == "rollouts.canary-operator.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert (names["kind"], names["plural"], names["shortNames"]) == ("Canary", "canaries", ["cny"])
    assert names["categories"] == ["canary-operator"]
    assert version()["name"] == "v1alpha1"
    assert version()["subresources"] == {"status": {}}


def test_kubectl_get_shows_phase_weight_step_last_check_and_age() -> None:
    default_columns = [c["name"] for c in version()["additionalPrinterColumns"]
                       if not c.get("priority")]
    assert default_columns == ["Phase", "Weight", "Step", "Last Check", "Age"]


def test_a_union_the_api_server_cannot_express_is_refused() -> None:
    class Bad(ApiModel):
        value: int | str

    with pytest.raises(SchemaError, match="union"):
        structural_schema(Bad)


def test_the_reference_documents_every_spec_field_and_phase() -> None:
    text = rendered()[REFERENCE_PATH]
    for path, _ in nodes(open_api()["properties"]["spec"], "spec"):
        name = path.rsplit(".", 1)[-1]
        if path != "spec" and not path.endswith("[]"):
            assert f"| `{name}` |" in text, f"{path} missing from the reference"
    for phase in ("Pending", "Progressing", "Paused", "Promoting", "Succeeded", "RolledBack",
                  "Failed"):
        assert f"| `{phase}` |" in text
