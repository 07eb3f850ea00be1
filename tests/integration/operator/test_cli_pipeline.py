"""The pipeline recipe of docs/pipelines.md, run for real: examples/pipelines/start-rollout.sh
starts the next rollout on the idle Service slot, and `canary wait --revision` reports that
rollout's own result — a promotion, then a rollback to the slot that was live."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from harness.app import App
from harness.cli import Cli
from harness.operators import Operators
from harness.waiting import eventually

from canary.sandbox.controlplane.launcher import ControlPlane, kubectl_path

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "pipelines" / "start-rollout.sh"


async def start_rollout(control_plane: ControlPlane, app: App, revision: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "KUBECONFIG": str(control_plane.kubeconfig),
        "NAMESPACE": app.namespace,
        "PATH": f"{kubectl_path().parent}{os.pathsep}{os.environ['PATH']}",
    }
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(SCRIPT),
        "api",
        revision,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_pipeline_recipe_rolls_out_on_the_idle_slot_and_waits_for_its_revision(
    app: App, operator: Operators, cli: Cli, control_plane: ControlPlane
) -> None:
    app.set_success(100, service="api-svc-v1")
    app.set_success(100, service="api-svc-v2")
    await app.create_canary(revision="r1")  # r1: api-svc-v1 -> api-svc-v2
    operator.start()
    await cli.ok("wait", "api", "--for", "promoted", "--revision", "r1", "--timeout", "2m")
    assert await app.weights() == (0, 100)

    code, out = await start_rollout(control_plane, app, "r2")
    assert code == 0, out
    assert "rolling out r2 on api-svc-v1; api-svc-v2 keeps serving" in out
    spec = (await app.canary())["spec"]
    assert (spec["stable"]["name"], spec["canary"]["name"]) == ("api-svc-v2", "api-svc-v1")
    second = await cli.run(
        "wait", "api", "--for", "promoted", "--revision", "r2", "--timeout", "2m"
    )
    assert second.code == 0, second.text
    assert await app.weights() == (100, 0)  # r2 lives on api-svc-v1 now

    app.set_success(50, service="api-svc-v2")  # r3 goes to api-svc-v2 and fails its checks
    code, out = await start_rollout(control_plane, app, "r3")
    assert code == 0, out

    async def under_way() -> bool:
        return (await app.status()).get("revision") == "r3"

    await eventually(under_way, within=60, what="r3 to start")
    refused, out = await start_rollout(control_plane, app, "r4")
    assert refused == 1 and "let the rollout under way finish first" in out
    third = await cli.run("wait", "api", "--for", "promoted", "--revision", "r3", "--timeout", "2m")
    assert third.code == 1, third.text

    async def back_on_the_live_slot() -> bool:  # RolledBack is written just before the route
        return await app.weights() == (100, 0)

    await eventually(back_on_the_live_slot, within=10, what="100 % on api-svc-v1")
