"""`canary wait` as a pipeline runs it: the real console script against a real control plane
and a running operator, asserting the documented exit code of each outcome, and that a wait
for a new revision never takes the previous revision's result for its own."""

from __future__ import annotations

import asyncio

import pytest
from harness.app import App
from harness.cli import Cli
from harness.operators import Operators

from canary.kube.resources import CANARY

pytestmark = pytest.mark.integration

PROMOTED, FAILED, TIMEOUT, NOT_FOUND = 0, 1, 3, 4


async def test_wait_exits_0_once_the_revision_is_promoted(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.roll_out(operator, 100, revision="v1")
    result = await cli.run(
        "wait", "api", "--for", "promoted", "--revision", "v1", "--timeout", "2m", "-o", "json"
    )
    assert result.code == PROMOTED, result.text
    outcome = result.json()
    assert outcome["result"] == "ok" and outcome["exitCode"] == 0
    assert outcome["phase"] == "Succeeded" and outcome["statusRevision"] == "v1"
    assert (await app.status())["phase"] == "Succeeded"


async def test_wait_exits_1_when_the_rollout_is_rolled_back(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.roll_out(operator, 50, revision="bad")
    result = await cli.run(
        "wait", "api", "--for", "promoted", "--revision", "bad", "--timeout", "2m"
    )
    assert result.code == FAILED, result.text
    assert "rolled back (MetricChecksFailed)" in result.out
    assert (await app.status())["phase"] == "RolledBack"
    await cli.ok("wait", "api", "--for", "rolled-back", "--timeout", "10s")
    await cli.ok("wait", "api", "--for", "finished", "--timeout", "10s")


async def test_wait_exits_3_on_timeout_and_says_what_it_waited_for(app: App, cli: Cli) -> None:
    await app.create_canary(revision="v1")  # no operator: nothing will ever happen
    result = await cli.run("wait", "api", "--for", "promoted", "--timeout", "2s")
    assert result.code == TIMEOUT, result.text
    assert "timed out after 2s" in result.out
    assert "is the operator running?" in result.text


async def test_wait_exits_4_when_the_canary_does_not_exist(cli: Cli) -> None:
    result = await cli.run("wait", "nope", "--for", "promoted", "--timeout", "30s")
    assert result.code == NOT_FOUND, result.text
    assert "does not exist" in result.out


async def test_wait_for_a_revision_the_canary_does_not_ask_for_fails_at_once(
    app: App, cli: Cli
) -> None:
    await app.create_canary(revision="v2")
    result = await cli.run(
        "wait", "api", "--for", "promoted", "--revision", "v1", "--timeout", "1m"
    )
    assert result.code == FAILED, result.text
    assert "asks for revision v2, not v1" in result.out


async def test_wait_for_a_new_revision_never_returns_the_previous_revisions_success(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.roll_out(operator, 100, revision="v1")
    await app.until_phase("Succeeded", within=120, what="v1 Succeeded")
    operator.kill()  # the status stays "v1 Succeeded" while v2 is asked for
    # Same backends as the promoted v1: starting over from stable must be asked for explicitly.
    again = {"spec": {"revision": "v2", "promotion": {"restartFromStable": True}}}
    await app.kube.patch(CANARY, "api", again, namespace=app.namespace)
    assert (await app.status())["phase"] == "Succeeded"
    stale = await cli.run("wait", "api", "--for", "promoted", "--revision", "v2", "--timeout", "3s")
    assert stale.code == TIMEOUT, stale.text
    assert "generation" in stale.out
    without_revision = await cli.run("wait", "api", "--for", "finished", "--timeout", "2s")
    assert without_revision.code == TIMEOUT, without_revision.text

    app.set_success(50)  # v2 is bad: the pipeline must see ITS rollback, not v1's success
    waiter = await cli.start(
        "wait", "api", "--for", "promoted", "--revision", "v2", "--timeout", "3m", "-o", "json"
    )
    operator.start()
    out, err = await asyncio.wait_for(waiter.communicate(), timeout=200)
    assert waiter.returncode == FAILED, err.decode()
    status = await app.status()
    assert status["revision"] == "v2" and status["phase"] == "RolledBack"
    assert '"statusRevision": "v2"' in out.decode()


async def test_a_revision_bump_with_the_same_backends_after_a_promotion_is_refused_and_wait_fails(
    app: App, operator: Operators, cli: Cli
) -> None:
    await app.roll_out(operator, 100, revision="v1", steps={"weights": [30], "interval": "1s"})
    await app.until_phase("Succeeded", within=120, what="v1 Succeeded")
    await app.kube.patch(CANARY, "api", {"spec": {"revision": "v2"}}, namespace=app.namespace)
    result = await cli.run("wait", "api", "--for", "promoted", "--revision", "v2",
                           "--timeout", "60s")
    assert result.code == FAILED, result.text
    assert "SameBackendsAfterPromotion" in result.text
    assert "70% back to api-svc-v1" in result.text
    status = await app.status()
    assert status["phase"] == "Succeeded" and status["revision"] == "v1"
    assert await app.weights() == (0, 100), "traffic went back to the old stable"
    await app.wait_for_events("InvalidSpec")
