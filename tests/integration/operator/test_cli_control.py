"""`canary get`, `promote`, `abort`, `retry`, `pause` and `resume` through the real console
script: each control command writes the spec contract, and the running operator acts on it."""

from __future__ import annotations

import pytest
import yaml
from harness.app import App, require_condition
from harness.cli import Cli
from harness.operators import Operators
from harness.waiting import eventually

pytestmark = pytest.mark.integration


async def _status_where(app: App, **expected: object) -> dict[str, object] | None:
    status = await app.status()
    return status if all(status.get(k) == v for k, v in expected.items()) else None


async def _weights_become(app: App, expected: tuple[int, int]) -> bool:
    return await app.weights() == expected


async def test_get_lists_phase_weights_step_revision_and_ages(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.roll_out(operator, 100, revision="v7")
    await eventually(lambda: _status_where(app, phase="Succeeded"), within=120, what="Succeeded")
    table = await cli.ok("get")
    header, row = table.out.splitlines()
    for column in ("NAME", "PHASE", "STABLE/CANARY", "STEP", "REVISION", "LAST CHECK", "AGE"):
        assert column in header
    assert row.split()[:5] == ["api", "Succeeded", "0/100", "4/4", "v7"]

    everywhere = await cli.ok("get", "-A", namespaced=False)
    assert everywhere.out.splitlines()[0].startswith("NAMESPACE")
    assert any(line.startswith(app.namespace) for line in everywhere.out.splitlines())

    as_json = (await cli.run("get", "-o", "json")).json()
    assert as_json["kind"] == "List" and as_json["items"][0]["status"]["revision"] == "v7"
    one = yaml.safe_load((await cli.run("get", "api", "-o", "yaml")).out)
    assert one["metadata"]["name"] == "api" and "managedFields" not in one["metadata"]
    missing = await cli.run("get", "nope")
    assert missing.code == 4 and "not found" in missing.err


async def test_promote_ends_a_manual_pause_and_the_rollout_is_promoted(
    app: App, operator: Operators, cli: Cli
) -> None:
    steps = {"weights": [5, 25, 50], "interval": "1s", "pauses": [{"atWeight": 25}]}
    await app.roll_out(operator, 100, steps=steps)
    held = await eventually(
        lambda: _status_where(app, phase="Paused", canaryWeight=25), within=60, what="the pause"
    )
    assert require_condition(held, "Paused")["reason"] == "AwaitingPromotion"
    waiting = await cli.run("wait", "api", "--for", "promoted", "--timeout", "2s")
    assert waiting.code == 3, "a pause is not final"
    assert "canary promote api" in waiting.err
    result = await cli.ok("promote", "api")
    assert "requested promote" in result.out and "status.handledRequests.promote" in result.out
    nonce = (await app.canary())["spec"]["requests"]["promote"]
    await cli.ok("wait", "api", "--for", "promoted", "--timeout", "1m")
    assert (await app.status())["handledRequests"]["promote"] == nonce


async def test_promote_full_skips_the_remaining_steps(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.at_first_step(operator, [5, 10, 15, 20], "30s", exactly=True)
    result = await cli.ok("promote", "api", "--full")
    assert "requested promoteFull" in result.out
    await cli.ok("wait", "api", "--for", "promoted", "--timeout", "30s")
    assert await app.weights() == (0, 100)


async def test_abort_rolls_back_and_retry_starts_again(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.at_first_step(operator, [5, 25, 50], "3s", exactly=True)
    await cli.ok("abort", "api")
    rolled_back = await cli.ok("wait", "api", "--for", "rolled-back", "--timeout", "1m")
    assert "(Aborted)" in rolled_back.out
    # The operator writes RolledBack just before the route (reconciler order): allow a moment.
    await eventually(lambda: _weights_become(app, (100, 0)), within=10, what="100 % stable")
    await cli.ok("retry", "api")
    await cli.ok("wait", "api", "--for", "promoted", "--timeout", "2m")


async def test_pause_holds_wait_without_ending_it_and_resume_finishes(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.at_first_step(operator, [5, 25, 50], "2s", exactly=True)
    paused = await cli.ok("pause", "api")
    assert "Paused is not finished" in paused.out
    assert (await app.canary())["spec"]["paused"] is True
    await eventually(lambda: _status_where(app, phase="Paused"), within=30, what="Paused")
    held = await cli.run("wait", "api", "--for", "finished", "--timeout", "3s")
    assert held.code == 3, held.text
    assert "canary resume api" in held.err
    await cli.ok("resume", "api")
    await cli.ok("wait", "api", "--for", "promoted", "--timeout", "2m")


async def test_control_commands_on_a_missing_canary_exit_4(cli: Cli) -> None:
    for command in (["promote", "nope"], ["abort", "nope"], ["pause", "nope"]):
        result = await cli.run(*command)
        assert result.code == 4, result.text
        assert "not found" in result.err
