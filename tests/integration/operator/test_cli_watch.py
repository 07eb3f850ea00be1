"""`canary watch` in a pseudo-terminal, as a person runs it: the rows it draws while the real
operator rolls out (steps, declared and observed weights, each metric against its threshold,
events) and its exit code when the rollout is over."""

from __future__ import annotations

import asyncio

import pytest
from harness.app import App
from harness.cli import Cli, Result
from harness.operators import Operators

from canary.sandbox.exporter import Traffic
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration


async def watch_rollout(cli: Cli, operator: Operators, *args: str) -> Result:
    """Start `watch` first, and the operator once the first frame is on screen, so the view
    follows the whole rollout."""
    drawn = asyncio.Event()
    watching = asyncio.create_task(cli.run_in_terminal("watch", "api", *args, drawn=drawn))
    await asyncio.wait_for(drawn.wait(), timeout=60)
    operator.start()
    return await watching


async def test_watch_draws_the_rollout_step_by_step_and_exits_0_when_promoted(
    app: App, operator: Operators, cli: Cli, prometheus: PrometheusServer
) -> None:
    app.set_success(100)
    for service, rps in (("api-svc-v1", 30.0), ("api-svc-v2", 10.0)):  # what Envoy would count
        app.exporter.envoy_cluster(f"{app.namespace}/{service}/8080", Traffic(rps=rps))
    await app.create_canary(revision="v1", steps={"weights": [5, 25, 50, 75], "interval": "2s"})
    result = await watch_rollout(cli, operator, "--prometheus", prometheus.url, "--refresh", "1")
    screen = result.out
    assert result.code == 0, screen
    assert f"Canary {app.namespace}/api" in screen
    assert "Steps     5% -> [25%] -> 50% -> 75% -> promote" in screen
    assert "Progressing: step 2/4, canary 25%, revision v1" in screen
    assert "Declared  stable 75% / canary 25%" in screen
    assert "Declared  stable 0% / canary 100%" in screen
    assert "Observed  stable 75.0% / canary 25.0% of " in screen  # 30 and 10 req/s
    assert "METRIC" in screen and "THRESHOLD" in screen
    row = next(line for line in screen.splitlines() if line.strip().startswith("success-rate"))
    assert row.split()[:5] == ["success-rate", "100", ">=", "99", "Pass"]
    assert "RolloutStarted" in screen and "StepAdvanced" in screen
    assert "Result: revision v1 promoted (exit 0)" in screen


async def test_watch_shows_the_failing_metric_and_exits_1_when_rolled_back(
    app: App, operator: Operators, cli: Cli
) -> None:
    app.set_success(50)
    await app.create_canary(revision="v2")
    result = await watch_rollout(cli, operator)
    screen = result.out
    assert result.code == 1, screen
    assert "Observed  not configured (pass --prometheus URL" in screen
    row = next(line for line in screen.splitlines() if line.strip().startswith("success-rate"))
    assert row.split()[:5] == ["success-rate", "50", ">=", "99", "Fail"]
    assert "Checks    last" in screen and "failed 2/2" in screen
    assert "MetricCheckFailed" in screen
    assert "Result: revision v2 rolled back (MetricChecksFailed)" in screen


async def test_watch_of_a_missing_canary_exits_4(cli: Cli) -> None:
    result = await cli.run_in_terminal("watch", "nope", within=60)
    assert result.code == 4, result.out
    assert "does not exist" in result.out
