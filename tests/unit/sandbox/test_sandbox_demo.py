"""The pure parts of `canary demo`: the objects it declares, the screen, the plain progress lines
and the summary that decides its exit code."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from canary.api.spec import CanarySpec
from canary.api.status import (
    BackendSamples,
    CanaryStatus,
    ComparisonEvidence,
    ComparisonKind,
    MetricOutcome,
    MetricResult,
    MetricVerdict,
    Phase,
)
from canary.cli.events import EventLine
from canary.kube.resources import JsonObj
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo import observe, plain, view
from canary.sandbox.demo.frames import Frame
from canary.sandbox.demo.observe import declared_weights
from canary.sandbox.demo.settings import DemoSettings, Speed
from canary.sandbox.demo.stories import Story, StoryResult
from canary.sandbox.demo.summary import HARM, LoadTotals, all_as_expected, summary_lines
from canary.sandbox.loadgen import Tally

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ONE = Story(1, "v1 -> v2", "v1", "v2", Phase.SUCCEEDED, started=0.0)
TWO = Story(2, "v2 -> v3", "v2", "v3", Phase.ROLLED_BACK, started=0.0)


def _status(phase: Phase, weight: int, *, step: int = 1, failed: int = 0) -> CanaryStatus:
    gate = MetricResult(
        name="success-rate",
        outcome=MetricOutcome.VALUE,
        value=97.5,
        min=99,
        verdict=MetricVerdict.FAIL,
        time=NOW,
        message="97.5 is below min 99",
    )
    return CanaryStatus(
        phase=phase,
        revision="v2",
        current_step=step,
        total_steps=4,
        canary_weight=weight,
        stable_weight=100 - weight,
        failed_checks=failed,
        step_started_at=NOW - timedelta(seconds=4),
        last_check_time=NOW - timedelta(seconds=1),
        metrics=(gate,),
    )


def _frame(running: dict[str, int], observed: dict[str, int], **extra: object) -> Frame:
    tally = Tally(Counter(observed), Counter({200: sum(observed.values())}))
    fields: dict[str, object] = {
        "elapsed": 12.0,
        "story": ONE,
        "declared": running,
        "running": running,
        "observed": tally,
        "now": NOW,
    }
    fields.update(extra)
    return Frame(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("speed", list(Speed))
def test_the_demo_canary_is_a_valid_spec_at_every_speed(speed: Speed) -> None:
    settings = DemoSettings.for_speed(speed)
    spec = CanarySpec.model_validate(m.canary(settings, stable="v1", canary="v2")["spec"])
    assert spec.analysis is not None and spec.analysis.min_requests is not None
    expected_first_step = settings.rate * settings.weights[0] / 100 * settings.interval
    assert 0 < spec.analysis.min_requests.count < expected_first_step


def test_story_two_changes_only_what_is_rolled_out() -> None:
    settings = DemoSettings()
    one = m.canary(settings, stable="v1", canary="v2")["spec"]
    two = m.canary(settings, stable="v2", canary="v3")["spec"]
    changed = {key for key in one if one[key] != two[key]}
    assert changed == {"stable", "canary", "revision"}
    assert two["revision"] == "v3"


def test_the_route_edit_of_story_two_puts_v3_beside_v2_at_weight_zero() -> None:
    route = m.route(DemoSettings(), {"v1": 0, "v2": 100})
    route["spec"].update(m.route_edit({"v2": 100, "v3": 0})["spec"])
    assert declared_weights(route) == {"v2": 100, "v3": 0}


def test_an_interval_flag_wins_over_the_speed_preset() -> None:
    assert DemoSettings.for_speed(Speed.SLOW).interval == 20
    assert DemoSettings.for_speed(Speed.SLOW, interval=3).interval == 3


def test_the_demo_succeeds_only_when_v2_is_promoted_and_v3_rolled_back() -> None:
    promoted = StoryResult(ONE, _status(Phase.SUCCEEDED, 100), 40.0)
    rolled_back = StoryResult(TWO, _status(Phase.ROLLED_BACK, 0, failed=2), 20.0)
    wrongly_promoted = StoryResult(TWO, _status(Phase.SUCCEEDED, 100), 40.0)
    assert all_as_expected([promoted, rolled_back])
    assert not all_as_expected([promoted, wrongly_promoted])
    assert not all_as_expected([promoted])
    traffic = LoadTotals({"v1": 10, "v2": 20}, failed=0)
    lines = summary_lines(
        [promoted, wrongly_promoted], traffic, seconds=75, settings=DemoSettings()
    )
    assert "EXPECTED RolledBack" in "\n".join(lines)
    assert lines[-1].startswith("The demo did NOT end as expected")


HARM_MESSAGE = (
    "canary 29.5% errors vs stable 0% (+29.5 pp, 99% CS [+1.4, +57.6]) over 61 and 538 "
    "requests: worse than the tolerated +1 pp"
)


def _harmed(*, looked: bool) -> CanaryStatus:
    """Story 2 rolled back by the errors comparison, 9 s after v3 got traffic."""
    decided = NOW - timedelta(seconds=1)
    evidence = ComparisonEvidence(
        kind=ComparisonKind.ERROR_RATE,
        effect=29.5,
        lower=1.4,
        upper=57.6,
        tolerance=1.0,
        log_evidence=5.0,
        threshold=4.6,
        canary=BackendSamples(requests=61, failures=18),
        stable=BackendSamples(requests=538, failures=0),
        since=decided - timedelta(seconds=9),
    )
    gate = MetricResult(
        name="errors",
        outcome=MetricOutcome.VALUE,
        value=29.5,
        verdict=MetricVerdict.FAIL,
        time=decided,
        message=HARM_MESSAGE,
        comparison=evidence,
    )
    return _status(Phase.ROLLED_BACK, 0).model_copy(
        update={
            "metrics": (gate,),
            "looked_at": decided if looked else None,
            "last_check_time": None if looked else decided,
            "message": f"{HARM} at step 1/4 (10%) (errors: {HARM_MESSAGE}); rolling back v3",
        }
    )


@pytest.mark.parametrize("looked", [True, False])
def test_the_summary_says_the_comparison_decided_the_rollback_how_soon_and_on_what(
    looked: bool,
) -> None:
    result = StoryResult(TWO, _harmed(looked=looked), 10.0)
    lines = summary_lines(
        [result], LoadTotals({"v2": 500, "v3": 61}, 18), seconds=60, settings=DemoSettings()
    )
    text = "\n".join(lines)
    assert "rolled back from step 1 by the errors comparison" in text
    assert "decided by the errors comparison 9s after v3 got traffic" in text
    assert ("at a look between checks" in text) is looked
    assert "failureThreshold 2 need 20s at least" in text
    assert f"evidence: {HARM_MESSAGE}" in text


def test_a_rollback_by_failed_checks_is_not_credited_to_a_comparison() -> None:
    result = StoryResult(TWO, _status(Phase.ROLLED_BACK, 0, failed=2), 20.0)
    lines = summary_lines([result], LoadTotals({}, 0), seconds=60, settings=DemoSettings())
    assert "rolled back from step 1 after 2 failed checks" in lines[1]
    assert not any("decided by" in line for line in lines)
    looking = _harmed(looked=True)
    gate = looking.metrics[0].model_copy(update={"verdict": MetricVerdict.INCONCLUSIVE})
    failed = _status(Phase.ROLLED_BACK, 0, failed=2).model_copy(
        update={"metrics": (*_status(Phase.ROLLED_BACK, 0).metrics, gate)}
    )
    lines = summary_lines(
        [StoryResult(TWO, failed, 20.0)], LoadTotals({}, 0), seconds=60, settings=DemoSettings()
    )
    assert f"the errors comparison was not yet conclusive then: {HARM_MESSAGE}" in lines[2]


def test_the_live_view_and_plain_lines_show_a_comparison_as_effect_and_confidence_sequence() -> (
    None
):
    status = _harmed(looked=True).model_copy(update={"phase": Phase.PROGRESSING})
    gate = status.metrics[0]
    assert view.value_text(gate) == "+29.5 pp"
    assert view.limit_text(gate) == "[+1.4, +57.6] vs +1 pp"
    before = _frame(
        {"v2": 90, "v3": 10},
        {},
        status=status.model_copy(update={"metrics": (), "looked_at": None}),
    )
    after = _frame({"v2": 90, "v3": 10}, {}, status=status)
    assert f"look: errors Fail: {HARM_MESSAGE}" in "\n".join(plain.lines(before, after))
    assert not [line for line in plain.lines(after, after) if "look:" in line]


def test_the_demo_canary_compares_errors_with_the_stable_and_holds_them_to_a_threshold() -> None:
    settings = DemoSettings()
    spec = CanarySpec.model_validate(m.canary(settings, stable="v2", canary="v3")["spec"])
    assert spec.analysis is not None
    (errors,) = spec.analysis.comparisons
    assert errors.compare is not None and errors.compare.error_rate is not None
    assert errors.compare.error_rate.tolerance == settings.tolerance
    assert [g.name for g in spec.analysis.metrics] == ["errors", "success-rate", "latency-p99"]
    assert spec.analysis.sequential.period() == timedelta(seconds=settings.look_every)
    assert settings.look_every >= settings.scrape_interval
    alone = m.canary(settings, stable="v2", canary="v3", gates=m.Gates.COMPARISON)["spec"]
    assert [g["name"] for g in alone["analysis"]["metrics"]] == ["errors", "latency-p99"]
    baseline = m.canary(settings, stable="v2", canary="v3", gates=m.Gates.THRESHOLDS)
    old = CanarySpec.model_validate(baseline["spec"])
    assert old.analysis is not None and not old.analysis.comparisons
    assert [g.name for g in old.analysis.metrics] == ["success-rate", "latency-p99"]


def test_plain_lines_report_the_split_served_under_the_weights_envoy_just_left() -> None:
    before = _frame({"v1": 90, "v2": 10}, {"v1": 901, "v2": 99})
    after = _frame({"v1": 75, "v2": 25}, {})
    lines = plain.lines(before, after)
    assert "observed under v1 90% / v2 10%: v1 901 (90.1%) / v2 99 (9.9%)" in lines[0]
    assert "Envoy runs v1 75% / v2 25%" in lines[1]


def test_plain_lines_print_each_event_once() -> None:
    first = EventLine(NOW, "Normal", "RolloutStarted", "started")
    second = EventLine(NOW, "Warning", "MetricCheckFailed", "failed")
    one = _frame({"v1": 100}, {}, events=(first,))
    two = _frame({"v1": 100}, {}, events=(first, second))
    assert [line for line in plain.lines(one, two) if "event" in line] == [
        "[  12.0s] story 1 | event Warning MetricCheckFailed: failed"
    ]


def test_a_canary_answer_at_weight_zero_makes_the_split_impossible() -> None:
    assert _frame({"v1": 100, "v2": 0}, {"v1": 500, "v2": 1}).p_value() == 0.0
    assert _frame({"v1": 100, "v2": 0}, {"v1": 500}).p_value() == 1.0


def test_the_live_view_shows_phase_weights_split_and_gates_against_thresholds() -> None:
    status = _status(Phase.PROGRESSING, 25, step=2, failed=1)
    spec = CanarySpec.model_validate(m.canary(DemoSettings(), stable="v1", canary="v2")["spec"])
    frame = _frame({"v1": 75, "v2": 25}, {"v1": 300, "v2": 100}, status=status, spec=spec)
    console = Console(record=True, width=160)
    console.print(view.render(frame, done=[]))
    text = console.export_text()
    assert "Progressing" in text
    assert "[25%]" in text and "step 2/4" in text
    assert "v1 300 (75.0%) / v2 100 (25.0%)" in text
    assert "failed 1/2" in text and "next check in 9s" in text
    assert "97.5" in text and ">= 99" in text and "Fail" in text


def _dump(clusters: list[dict[str, object]], table: str = "http-80") -> dict[str, object]:
    """An Envoy admin route config dump, as Envoy prints it for a table Contour made."""
    route = {"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": clusters}}}
    config = {"name": table, "virtual_hosts": [{"name": "*", "routes": [route]}]}
    return {"configs": [{"route_config": config}]}


def test_envoy_weights_are_read_from_contours_cluster_names() -> None:
    dump = _dump(
        [
            {"name": "demo/app-v1/80/da39a3ee5e", "weight": 90},
            {"name": "demo/app-v2/80/da39a3ee5e", "weight": 10},
            {"name": "other/app-v3/80/da39a3ee5e", "weight": 5},
        ]
    )
    assert observe._weights_in(dump, DemoSettings()) == {"v1": 90, "v2": 10}


def test_envoy_weights_of_another_listeners_table_are_not_the_demos() -> None:
    dump = _dump([{"name": "demo/app-v1/80/da39a3ee5e", "weight": 100}], table="http-81")
    assert observe._weights_in(dump, DemoSettings()) == {}
    assert observe._weights_in(dump, DemoSettings(listener_port=81)) == {"v1": 100}


def test_each_version_is_a_deployment_of_its_own_image_tag_behind_its_service() -> None:
    settings = DemoSettings()
    deployment, service = m.deployment(settings, "v3"), m.service_of(settings, "v3")
    template = deployment["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == f"{m.IMAGE}:v3"
    assert deployment["spec"]["selector"]["matchLabels"] == template["metadata"]["labels"]
    assert service["spec"]["selector"] == template["metadata"]["labels"]
    assert service["metadata"]["name"] == m.service("v3")


# --- workload mode (`canary demo`) -----------------------------------------------------------

WORKLOAD = DemoSettings(workload=True)
W_ONE = Story(1, "v1 -> v2", "v1", "v2", Phase.SUCCEEDED, started=0.0, template="0168fd165a")


def test_the_demo_runs_in_workload_mode_one_deployment_and_a_canary_naming_it() -> None:
    assert DemoSettings.for_speed(Speed.NORMAL).workload
    canary = m.canary(WORKLOAD)["spec"]
    assert canary["workload"] == {
        "name": "app", "port": m.PORT, "targetPort": m.CONTAINER_PORT,
        "progressDeadline": f"{WORKLOAD.progress_deadline}s",
    }
    assert not {"stable", "canary", "revision"} & set(canary)
    spec = CanarySpec.model_validate(canary)
    assert (spec.stable.name, spec.canary.name) == ("app-primary", "app-canary")
    deployment = m.workload_deployment(WORKLOAD)
    assert deployment["metadata"]["name"] == "app"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == f"{m.IMAGE}:v1"
    route = m.route(WORKLOAD, m.WORKLOAD_WEIGHTS)
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [("app-primary", 100), ("app-canary", 0)]
    assert declared_weights(route) == {"primary": 100, "canary": 0}


def test_a_release_is_the_json_patch_of_kubectl_set_image() -> None:
    assert m.set_image("v3") == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image",
         "value": f"{m.IMAGE}:v3"},
    ]


def test_a_workload_story_weighs_the_backends_and_judges_the_answering_versions() -> None:
    assert W_ONE.revision == "0168fd165a" and ONE.revision == "v2"
    assert W_ONE.weights(10) == {"primary": 90, "canary": 10}
    assert W_ONE.answering({"primary": 90, "canary": 10}) == {"v1": 90, "v2": 10}
    assert W_ONE.answering({"primary": 100, "canary": 0}, promoted=True) == {"v2": 100}
    for phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK):  # the primary takes 100 % either way
        result = StoryResult(W_ONE, _status(phase, 0), 30.0)
        assert result.final_weights() == {"primary": 100, "canary": 0}
    assert ONE.weights(10) == {"v1": 90, "v2": 10}


def test_the_split_of_a_workload_story_is_tested_by_version() -> None:
    frame = replace(
        _frame({"primary": 90, "canary": 10}, {"v1": 900, "v2": 100}), story=W_ONE
    )
    assert frame.p_value() == pytest.approx(1.0)
    wrong = replace(frame, observed=_frame({}, {"v1": 1000}).observed)
    assert (wrong.p_value() or 1.0) < 1e-6
    promoted = replace(frame, status=_status(Phase.SUCCEEDED, 0), running={"primary": 100})
    assert promoted.p_value() is None


def _rs(name: str, owner: str, tag: str, replicas: int, ready: int, created: str) -> JsonObj:
    return {
        "metadata": {"name": name, "creationTimestamp": created,
                     "ownerReferences": [{"kind": "Deployment", "name": owner}]},
        "spec": {"replicas": replicas,
                 "template": {"spec": {"containers": [{"image": f"{m.IMAGE}:{tag}"}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def test_the_live_view_shows_the_deployments_with_their_replicasets_and_ready_pods() -> None:
    deployments = [
        {**m.workload_deployment(WORKLOAD, "v2"), "status": {"readyReplicas": 1}},
        {"metadata": {"name": "app-primary"},
         "spec": {"replicas": 2, "template": m.workload_deployment(WORKLOAD)["spec"]["template"]},
         "status": {"readyReplicas": 2}},
    ]
    sets = [
        _rs("app-5b8c4d", "app", "v1", 0, 0, "2025-03-01T11:00:00Z"),  # no Pods: not shown
        _rs("app-6f7d9c", "app", "v2", 2, 1, "2025-03-01T12:00:00Z"),
        _rs("app-primary-7a1b2c", "app-primary", "v1", 2, 2, "2025-03-01T11:00:00Z"),
    ]
    lines = observe.deployment_lines(deployments, sets)
    assert [(d.name, d.tag, d.replicas, d.ready) for d in lines] == [
        ("app", "v2", 2, 1), ("app-primary", "v1", 2, 2)]
    assert [rs.name for rs in lines[0].replica_sets] == ["app-6f7d9c"]
    frame = replace(_frame({"primary": 90, "canary": 10}, {}), story=W_ONE,
                    deployments=tuple(lines))
    console = Console(record=True, width=160)
    console.print(view.render(frame, done=[]))
    text = console.export_text()
    assert "Deployments" in text
    assert "app          v2   1/2 ready   ReplicaSets: 6f7d9c (v2) 1/2" in text
    assert "app-primary  v1   2/2 ready   ReplicaSets: 7a1b2c (v1) 2/2" in text
    assert any("deployments: app v2 1/2 ready" in line for line in plain.lines(None, frame))
    assert view.weights_text({"canary": 10, "primary": 90}) == "primary 90% / canary 10%"
