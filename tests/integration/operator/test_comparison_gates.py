"""Comparison gates on real parts: the real control plane, the real operator process, the real
Contour serving the test's Gateway, and the real Prometheus (scraping every second) reading the
test exporter's `http_requests_total{namespace,service,code}` for both backends through the
built-in `app` comparison family.

The exporter's traffic is set per backend by the test, not routed by Envoy: in most tests each
backend serves tens of requests per second whatever the route's weights (a fixed share of a
large traffic); in the late-incident test the test splits a total by the weights the operator
writes on the route, as a gateway would. Counts are seeded Poisson processes where noise
matters. Every verdict below is the operator's, read back from the Canary's status on the API
server; measured times are printed (`-s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from harness.app import App, require_condition
from harness.operators import Operators
from harness.waiting import eventually

from canary.kube.resources import JsonObj
from canary.sandbox.exporter import Traffic

pytestmark = pytest.mark.integration

STABLE, CANARY = "api-svc-v1", "api-svc-v2"


def _errors_gate(
    *, tolerance: float = 1, on_inconclusive: str | None = None, family: str = "app"
) -> JsonObj:
    compare: JsonObj = {"errorRate": {"template": family, "tolerance": tolerance}}
    if on_inconclusive is not None:
        compare["onInconclusive"] = on_inconclusive
    return {"name": "errors", "compare": compare}


def _analysis(gate: JsonObj, *, every: str = "2s") -> JsonObj:
    return {"sequential": {"every": every, "falseRollbackRate": 0.01}, "metrics": [gate]}


def _serve(app: App, *, stable: Traffic, canary: Traffic, family: str = "app") -> None:
    """Both backends' series in the shape `family`'s comparison queries read."""
    for service, traffic in ((STABLE, stable), (CANARY, canary)):
        if family == "app":
            app.exporter.app_service(app.namespace, service, traffic)
        elif family == "contour":  # Contour's Envoy stat name: namespace_service_port
            app.exporter.envoy_cluster(f"{app.namespace}_{service}_8080", traffic)
        else:
            raise ValueError(family)


def _time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def _start(operator: Operators, app: App) -> float:
    """Start the operator; once the rollout is Progressing, when it started (its startedAt)."""
    operator.start()
    progressing = await app.until_phase("Progressing", within=60)
    return _time(progressing["startedAt"])


def _errors(status: JsonObj) -> JsonObj:
    found: list[JsonObj] = [m for m in status.get("metrics") or [] if m["name"] == "errors"]
    assert found, f"no result of the comparison gate in {status}"
    return found[0]


CALM, INCIDENT = 0.005, 0.2


async def _incident(app: App, *, started: float, after: float, lasts: float) -> float:
    """Both backends (60 requests/s each, seeded Poisson) fail at 20 % from `after` seconds
    past `started` for `lasts` seconds; returns when it began (time.time())."""
    await asyncio.sleep(max(0.0, started + after - time.time()))
    began = time.time()
    _serve(
        app,
        stable=Traffic(rps=60, error_ratio=INCIDENT, seed=5),
        canary=Traffic(rps=60, error_ratio=INCIDENT, seed=6),
    )
    await asyncio.sleep(lasts)
    _serve(
        app,
        stable=Traffic(rps=60, error_ratio=CALM, seed=5),
        canary=Traffic(rps=60, error_ratio=CALM, seed=6),
    )
    return began


async def _until_finished(app: App, *, within: float, seen: list[JsonObj]) -> JsonObj:
    """Wait for Succeeded or RolledBack, keeping every distinct comparison result on the way."""

    async def finished() -> JsonObj | None:
        status = await app.status()
        metrics = [m for m in status.get("metrics") or [] if m["name"] == "errors"]
        if metrics and (not seen or seen[-1]["time"] != metrics[0]["time"]):
            seen.append(metrics[0])
        return status if status.get("phase") in ("Succeeded", "RolledBack") else None

    return await eventually(finished, within=within, what="the rollout to finish")


@pytest.mark.parametrize("family", ["app", "contour"])
async def test_a_30_percent_error_canary_is_rolled_back_long_before_its_step_ends(
    app: App, operator: Operators, family: str
) -> None:
    """Stable answers ~0.5 % errors, the canary 30 %, 40 requests/s each. The step interval is
    60 s, so a check at the step's end could not roll back before 60 s (120 s with the default
    failureThreshold 2); the looks every 2 s find conclusive harm within seconds of traffic and
    roll back at once. For the application's `http_requests_total` (`app`) and for Contour's
    Envoy cluster stats (`contour`: `envoy_cluster_upstream_rq_xx` by code class, the 5xx
    series appearing with the first failure)."""
    _serve(
        app,
        stable=Traffic(rps=40, error_ratio=0.005, seed=1),
        canary=Traffic(rps=40, error_ratio=0.3, seed=2),
        family=family,
    )
    await app.create_canary(
        steps={"weights": [10, 50], "interval": "60s"},
        analysis=_analysis(_errors_gate(family=family)),
    )
    started = await _start(operator, app)
    seen: list[JsonObj] = []
    status = await _until_finished(app, within=90, seen=seen)
    finished_after = time.time() - started

    assert status["phase"] == "RolledBack", status
    assert await app.weights() == (100, 0)
    rolled_back = require_condition(status, "RolledBack")
    assert rolled_back["status"] == "True"
    decided_after = _time(rolled_back["lastTransitionTime"]) - started
    assert decided_after < 30, f"rolled back {decided_after:.0f}s after traffic, step is 60s"
    assert finished_after < 30
    assert status["currentStep"] == 1, "it never got to the second step"
    assert status.get("lastCheckTime") is None, "decided by a look, not a step's check"
    assert "conclusive evidence of harm" in status["message"]
    result = _errors(status)
    assert result["verdict"] == "Fail" and result["outcome"] == "Value"
    evidence = result["comparison"]
    assert evidence["kind"] == "ErrorRate"
    assert evidence["lower"] > evidence["tolerance"] == 1
    assert evidence["lower"] <= evidence["effect"] <= evidence["upper"]
    assert 15 < evidence["effect"] < 45, "about 30 % - 0.5 % = 29.5 percentage points"
    assert evidence["logEvidence"] >= evidence["threshold"] > 0
    canary, stable = evidence["canary"], evidence["stable"]
    assert canary["requests"] > 30 and stable["requests"] > 30
    assert 0.15 < canary["failures"] / canary["requests"] < 0.45
    assert stable["failures"] / stable["requests"] < 0.05
    assert _time(evidence["since"]) == pytest.approx(started, abs=1)
    assert "api-svc-v2" in result["query"] and "{{" not in result["query"]
    assert ("envoy_cluster_upstream_rq_xx" in result["query"]) == (family == "contour")
    assert "worse than the tolerated +1 pp" in result["message"]
    reasons = await app.wait_for_events("MetricCheckFailed", "RolledBack")
    events = await app.events()
    harm = [e for e in events if "onclusive evidence of harm" in (e.get("note") or "")]
    assert harm, f"no event names the conclusive evidence: {reasons}"
    print(
        f"\n30% error canary ({family}): RolledBack decided {decided_after:.1f}s and seen "
        f"{finished_after:.1f}s after startedAt (step interval 60s); evidence {evidence}"
    )



async def test_a_slower_canary_is_rolled_back_on_its_latency_histogram(
    app: App, operator: Operators
) -> None:
    """Latency from each backend's `http_request_duration_seconds` histogram (the `app`
    family's buckets, read as a vector by le from the real Prometheus): stable answers in
    20 ms, the canary in 300 ms, 40 requests/s each. Every canary request is slower than any
    bucket boundary the stable's slowed-down (x1.2) distribution stays under: conclusive harm
    at a look, long before the 60 s step ends."""
    _serve(
        app,
        stable=Traffic(rps=40, latency_ms=20, seed=9),
        canary=Traffic(rps=40, latency_ms=300, seed=10),
    )
    gate = {"name": "latency", "compare": {"latency": {"template": "app", "slowdown": 20}}}
    await app.create_canary(
        steps={"weights": [10, 50], "interval": "60s"}, analysis=_analysis(gate)
    )
    started = await _start(operator, app)
    status = await eventually(
        lambda: app.phase("Succeeded", "RolledBack"), within=90, what="the rollout to end"
    )
    assert status["phase"] == "RolledBack", status
    decided_after = _time(require_condition(status, "RolledBack")["lastTransitionTime"]) - started
    assert decided_after < 30, f"rolled back {decided_after:.0f}s after traffic, step is 60s"
    assert "conclusive evidence of harm" in status["message"]
    result = status["metrics"][0]
    assert result["name"] == "latency" and result["verdict"] == "Fail"
    evidence = result["comparison"]
    assert evidence["kind"] == "Latency"
    assert evidence["lower"] > evidence["tolerance"]
    assert 0.02 < evidence["boundary"] <= 0.25, "a boundary between the two latencies (s)"
    assert evidence["canary"]["failures"] == pytest.approx(evidence["canary"]["requests"])
    assert evidence["stable"]["failures"] == 0
    assert "_bucket" in result["query"] and "api-svc-v2" in result["query"]
    assert await app.weights() == (100, 0)
    print(f"\n300 ms canary: RolledBack decided {decided_after:.1f}s after startedAt; {evidence}")

async def test_a_healthy_canary_with_noisy_traffic_is_promoted(
    app: App, operator: Operators
) -> None:
    """Both backends answer 0.5 % errors, as Poisson processes of 60 requests/s each (seeded),
    over 3 steps of 10 s. With a tolerance of 2 percentage points, ~600 requests a side (the
    first step) make the confidence sequence's upper end fall below the tolerance: every
    step's check is a conclusive Pass (onInconclusive stays Inconclusive, so a Pass is earned,
    not defaulted), and no look along the way finds harm."""
    _serve(
        app,
        stable=Traffic(rps=60, error_ratio=0.005, seed=3),
        canary=Traffic(rps=60, error_ratio=0.005, seed=4),
    )
    await app.create_canary(
        steps={"weights": [10, 30, 60], "interval": "10s"},
        analysis=_analysis(_errors_gate(tolerance=2)),
    )
    started = await _start(operator, app)
    seen: list[JsonObj] = []
    status = await _until_finished(app, within=150, seen=seen)
    took = time.time() - started

    assert status["phase"] == "Succeeded", status
    assert await app.weights() == (0, 100)
    assert status["failedChecks"] == 0
    # startedAt is in whole seconds (at or before the true start): 3 full steps are >= 30 s.
    assert took >= 30, f"promoted {took:.1f}s in: a step ended before its 10 s interval"
    verdicts = [m["verdict"] for m in seen]
    assert "Fail" not in verdicts, seen
    result = _errors(status)
    assert result["verdict"] == "Pass" and result["outcome"] == "Value"
    assert "onInconclusive" not in result["message"], "a conclusive Pass, not a default"
    evidence = result["comparison"]
    assert evidence["upper"] < evidence["tolerance"] == 2
    assert evidence["lower"] <= evidence["effect"] <= evidence["upper"]
    canary, stable = evidence["canary"], evidence["stable"]
    assert canary["requests"] > 500 and stable["requests"] > 500
    assert canary["requests"] != stable["requests"], "the traffic is noisy, not identical"
    reasons = await app.wait_for_events("Promoted")
    assert reasons.count("MetricCheckPassed") >= 3
    print(f"\nhealthy noisy canary: Succeeded {took:.1f}s after startedAt; last {evidence}")


async def test_a_shared_incident_does_not_roll_the_canary_back(
    app: App, operator: Operators
) -> None:
    """Both backends fail at 20 % for ~12 s from the middle of the first step (a dependency's
    incident), as Poisson processes of 60 requests/s each; otherwise 0.5 %. A threshold gate
    on the canary's own success rate (e.g. `app-success-rate` with min 99) would fail every
    check during the incident and, at failureThreshold 1, roll back a canary that is no worse
    than stable. The comparison sees the same error rate on both sides over the same window:
    its effect stays near 0 and no look or check finds harm.

    `onInconclusive: Pass`: the incident's errors widen the confidence sequence (more variance
    for the same requests), so within these 10 s steps it need not become conclusive that the
    canary is within 2 points; Pass advances on the absence of evidence of harm while the looks
    keep guarding (the 30 % canary above is rolled back by a look, whatever this policy)."""
    _serve(
        app,
        stable=Traffic(rps=60, error_ratio=CALM, seed=5),
        canary=Traffic(rps=60, error_ratio=CALM, seed=6),
    )
    analysis = _analysis(_errors_gate(tolerance=2, on_inconclusive="Pass"))
    analysis["failureThreshold"] = 1
    await app.create_canary(steps={"weights": [10, 30, 60], "interval": "10s"}, analysis=analysis)
    started = await _start(operator, app)
    incident = asyncio.create_task(_incident(app, started=started, after=5, lasts=12))
    seen: list[JsonObj] = []

    async def incident_over() -> bool:
        status = await app.status()
        metrics = [m for m in status.get("metrics") or [] if m["name"] == "errors"]
        if metrics and (not seen or seen[-1]["time"] != metrics[0]["time"]):
            seen.append(metrics[0])
        assert status.get("phase") not in ("RollingBack", "RolledBack"), status
        return incident.done()

    await eventually(incident_over, within=60, what="the incident to be over")
    incident_began = incident.result()
    status = await _until_finished(app, within=150, seen=seen)

    assert status["phase"] == "Succeeded", status
    assert await app.weights() == (0, 100)
    assert status["failedChecks"] == 0
    during = [
        m for m in seen
        if incident_began + 3 <= _time(m["time"]) and m.get("comparison")
    ]
    assert during, f"no comparison was looked at during the incident: {seen}"
    assert all(m["verdict"] != "Fail" for m in seen), seen
    # The incident is in the evidence: both sides' errors are far above 0.5 % ...
    peak = max(during, key=lambda m: m["comparison"]["stable"]["failures"])["comparison"]
    for side in ("canary", "stable"):
        share = peak[side]["failures"] / peak[side]["requests"]
        assert share > 0.03, f"{side} errors {share:.3f}: the incident is not in the window"
    # ... and cancels in the difference.
    assert all(abs(m["comparison"]["effect"]) < 8 for m in during), during  # ~4.5 SD
    assert all(m["comparison"]["lower"] <= m["comparison"]["tolerance"] for m in seen if
               m.get("comparison"))
    print(f"\nshared incident: promoted; {len(during)} looks during/after it; peak {peak}")


async def test_a_threshold_gate_rolls_back_the_same_canary_in_the_same_shared_incident(
    app: App, operator: Operators
) -> None:
    """The contrast to the test above, with the same traffic and incident: a threshold gate on
    the canary's own success rate (`app-success-rate`, min 99 %, over the step's 10 s) cannot
    tell a shared incident from a bad canary, and rolls back a canary no worse than stable at
    the first check that overlaps the incident."""
    _serve(
        app,
        stable=Traffic(rps=60, error_ratio=CALM, seed=5),
        canary=Traffic(rps=60, error_ratio=CALM, seed=6),
    )
    analysis = {
        "failureThreshold": 1,
        "metrics": [{"name": "success", "template": "app-success-rate", "min": 99}],
    }
    await app.create_canary(steps={"weights": [10, 30, 60], "interval": "10s"}, analysis=analysis)
    started = await _start(operator, app)
    incident = asyncio.create_task(_incident(app, started=started, after=5, lasts=12))
    try:
        status = await eventually(
            lambda: app.phase("Succeeded", "RolledBack"), within=120, what="the rollout to end"
        )
    finally:
        await incident
    assert status["phase"] == "RolledBack", status
    assert status["failedChecks"] == 1
    gate = status["metrics"][0]
    assert gate["verdict"] == "Fail" and gate["value"] < 99
    assert gate["value"] > 70, "a 20 % incident over part of the window, not a broken canary"
    assert await app.weights() == (100, 0)


@contextlib.asynccontextmanager
async def _traffic_follows_the_route(
    app: App, *, total: float, incident_at: int
) -> AsyncIterator[list[float]]:
    """Each backend gets its route weight's share of `total` requests/s (seeded Poisson), as
    a gateway would split them, following the weights every 0.2 s; from the moment the route
    carries `incident_at` % on the canary, both fail at 20 % (a shared incident). Yields a
    list that gets the incident's start time."""
    began: list[float] = []

    async def follow() -> None:
        last: tuple[int, int] | None = None
        while True:
            weights = await app.weights()
            if weights != last:
                last = weights
                if weights[1] >= incident_at and not began:
                    began.append(time.time())
                ratio = INCIDENT if began else CALM
                stable, canary = (total * w / 100 for w in weights)
                _serve(
                    app,
                    stable=Traffic(rps=stable, error_ratio=ratio, seed=7),
                    canary=Traffic(rps=canary, error_ratio=ratio, seed=8),
                )
            await asyncio.sleep(0.2)

    task = asyncio.create_task(follow())
    try:
        yield began
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_shared_incident_in_a_late_step_with_traffic_split_by_the_route(
    app: App, operator: Operators
) -> None:
    """As the shared-incident test above, but each backend's traffic is its route weight's
    share of 200 requests/s (the exporter follows the route the operator writes), and the
    incident (20 % on both) begins when the canary gets 60 %. The canary is never worse than
    stable at any moment, so it must not be rolled back.

    Pooled over the whole rollout, the canary's counts weigh the late step (and its incident)
    more than the stable's: measured before the comparison went step by step, this rollout was
    rolled back ("conclusive evidence of harm at step 3/3 (60%)", canary 6.8 % vs stable 1.8 %,
    99 % CS [+2.2, +7.7] pp). Step by step (`status.stepStarts`, one window per step) the
    incident cancels within each step."""
    _serve(
        app,
        stable=Traffic(rps=200, error_ratio=CALM, seed=7),
        canary=Traffic(rps=0, error_ratio=CALM, seed=8),
    )
    analysis = _analysis(_errors_gate(tolerance=2, on_inconclusive="Pass"))
    async with _traffic_follows_the_route(app, total=200, incident_at=60) as began:
        await app.create_canary(
            steps={"weights": [10, 30, 60], "interval": "10s"}, analysis=analysis
        )
        operator.start()
        seen: list[JsonObj] = []
        status = await _until_finished(app, within=150, seen=seen)
    assert began, "the rollout never reached the incident's step"
    assert status["phase"] == "Succeeded", (
        f"rolled back by a shared incident: {status.get('message')}; evidence "
        f"{_errors(status).get('comparison')}"
    )
    assert status["failedChecks"] == 0
    assert all(m["verdict"] != "Fail" for m in seen), seen
    during = [m for m in seen if _time(m["time"]) >= began[0] + 3 and m.get("comparison")]
    assert during, f"no comparison was looked at during the incident: {seen}"
    last = during[-1]["comparison"]
    assert last["canary"]["failures"] / last["canary"]["requests"] > 0.03, (
        "the incident is in the canary's counts"
    )
    print(f"\nlate shared incident, split by the route: promoted; last look {last}")


async def test_looks_before_the_canary_is_scraped_count_nothing_even_with_on_no_data_fail(
    app: App, operator: Operators
) -> None:
    """`onNoData: Fail` with failureThreshold 2: the canary's series appear only ~8 s after the
    rollout starts (its pods still starting), so the first looks (every 2 s) have no data for
    it. Those looks must count nothing: the policy counts at a step's check, as for threshold
    gates. (Before the fix, two such looks were two failed checks: rolled back ~4 s in.) By
    the first check (20 s) the data is there and the healthy canary goes on to promotion."""
    app.exporter.app_service(app.namespace, STABLE, Traffic(rps=60, error_ratio=CALM, seed=11))
    gate = _errors_gate(tolerance=2, on_inconclusive="Pass")
    gate["onNoData"] = "Fail"
    analysis = _analysis(gate)
    analysis["failureThreshold"] = 2
    await app.create_canary(steps={"weights": [10, 50], "interval": "20s"}, analysis=analysis)
    started = await _start(operator, app)
    seen: list[JsonObj] = []

    async def canary_scraped() -> bool:
        status = await app.status()
        assert status.get("phase") not in ("RollingBack", "RolledBack"), status
        metrics = [m for m in status.get("metrics") or [] if m["name"] == "errors"]
        if metrics and (not seen or seen[-1]["time"] != metrics[0]["time"]):
            seen.append(metrics[0])
        return time.time() >= started + 8

    await eventually(canary_scraped, within=60, what="8 s into the rollout")
    app.exporter.app_service(app.namespace, CANARY, Traffic(rps=60, error_ratio=CALM, seed=12))
    status = await _until_finished(app, within=120, seen=seen)
    no_data = [m for m in seen if m["outcome"] == "NoData"]
    assert no_data, f"no look saw the missing canary data: {seen}"
    assert all(m["verdict"] == "Inconclusive" for m in no_data), no_data
    assert "nothing counted at a look" in no_data[0]["message"]
    assert status["phase"] == "Succeeded", status
    assert status["failedChecks"] == 0
    assert await app.weights() == (0, 100)


async def test_a_step_held_for_evidence_moves_on_at_the_look_that_finds_it_conclusive(
    app: App, operator: Operators
) -> None:
    """Low traffic (20 requests/s each, 0.5 % errors, exact counts): at step 1's check (10 s)
    ~200 requests a side cannot show the canary within 2 points, so the check holds the step
    for evidence (not counted towards inconclusiveLimit); ~440 a side can (~22 s), and the look
    that finds it advances at once instead of waiting for the next check (30 s)."""
    _serve(
        app,
        stable=Traffic(rps=20, error_ratio=CALM),
        canary=Traffic(rps=20, error_ratio=CALM),
    )
    analysis = _analysis(_errors_gate(tolerance=2))
    await app.create_canary(steps={"weights": [20, 60], "interval": "10s"}, analysis=analysis)
    started = await _start(operator, app)

    async def at_step_2() -> JsonObj | None:
        status = await app.status()
        assert status.get("phase") not in ("RollingBack", "RolledBack"), status
        return status if status.get("currentStep", 0) >= 2 else None

    second = await eventually(at_step_2, within=90, what="step 2")
    step_1_lasted = _time(second["stepStartedAt"]) - started
    assert 10 < step_1_lasted < 29, f"step 1 lasted {step_1_lasted:.0f}s"
    assert second["inconclusiveChecks"] == 0, "a hold for evidence is not an inconclusive check"
    status = await app.until_phase("Succeeded", within=90)
    assert status["failedChecks"] == 0
    notes = [e.get("note") or "" for e in await app.events()]
    assert any("while the comparisons gather evidence" in n for n in notes), notes
    assert any("the comparisons became conclusive" in n for n in notes), notes
    print(f"\nheld for evidence: step 1 (10 s interval) ended by a look after {step_1_lasted:.0f}s")
