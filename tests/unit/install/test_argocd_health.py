"""The Argo CD health check for Canaries, run by a real Lua 5.1 interpreter (Argo CD's dialect)
against sample Canaries whose status is validated by the operator's own status model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

from canary.api.status import CanaryStatus, Phase

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
CHECK_DIR = REPO / "argocd" / "rollouts.canary-operator.io" / "Canary"
SCRIPT = (CHECK_DIR / "health.lua").read_text()
CASES = yaml.safe_load((CHECK_DIR / "health_test.yaml").read_text())["tests"]

EXPECTED_BY_PHASE = {
    Phase.SUCCEEDED: "Healthy",
    Phase.PENDING: "Progressing",
    Phase.PROGRESSING: "Progressing",
    Phase.PROMOTING: "Progressing",
    Phase.PAUSED: "Suspended",
    Phase.ROLLING_BACK: "Degraded",
    Phase.ROLLED_BACK: "Degraded",
    Phase.FAILED: "Degraded",
}


def health(obj: dict[str, Any]) -> dict[str, str]:
    """Run the script the way Argo CD does: the resource as global `obj`, a table returned."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT)
    return {"status": result["status"], "message": result["message"]}


def canary(phase: str, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "rollouts.canary-operator.io/v1alpha1",
        "kind": "Canary",
        "metadata": {"name": "api", "namespace": "shop", "generation": 1},
        "status": {"phase": phase, "observedGeneration": 1, **status},
    }


@pytest.mark.parametrize("case", CASES, ids=[c["inputPath"] for c in CASES])
def test_sample_canary_gets_the_documented_health(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((CHECK_DIR / case["inputPath"]).read_text())
    assert health(obj) == case["healthStatus"]


@pytest.mark.parametrize("path", sorted((CHECK_DIR / "testdata").glob("*.yaml")), ids=str)
def test_every_sample_status_is_one_the_operator_can_write(path: Path) -> None:
    status = yaml.safe_load(path.read_text()).get("status")
    if status is not None:
        CanaryStatus.model_validate(status)


def test_every_sample_is_covered_by_a_case() -> None:
    listed = {case["inputPath"] for case in CASES}
    present = {f"testdata/{p.name}" for p in (CHECK_DIR / "testdata").glob("*.yaml")}
    assert listed == present


@pytest.mark.parametrize("phase", list(Phase), ids=str)
def test_every_phase_maps_to_its_argo_cd_health(phase: Phase) -> None:
    assert health(canary(str(phase)))["status"] == EXPECTED_BY_PHASE[phase]


def test_a_phase_from_a_newer_operator_is_unknown_not_healthy() -> None:
    assert health(canary("Teleporting")) == {
        "status": "Unknown",
        "message": "Unknown phase Teleporting",
    }


def test_status_not_yet_updated_for_a_new_spec_is_progressing_even_if_succeeded() -> None:
    obj = canary("Succeeded", message="Promoted api-v2:8080")
    obj["metadata"]["generation"] = 5
    obj["status"]["observedGeneration"] = 4
    assert health(obj)["status"] == "Progressing"


def test_without_a_message_the_health_says_phase_weight_and_step() -> None:
    obj = canary("Paused", canaryWeight=50, currentStep=3, totalSteps=4, message="")
    assert health(obj) == {
        "status": "Suspended",
        "message": "Phase Paused: canary weight 50% (step 3/4)",
    }


def test_argocd_cm_snippet_embeds_the_script_verbatim() -> None:
    config = yaml.safe_load((REPO / "argocd" / "argocd-cm.yaml").read_text())
    key = "resource.customizations.health.rollouts.canary-operator.io_Canary"
    assert config["data"][key] == SCRIPT
