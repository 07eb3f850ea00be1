"""What `watch` draws from one snapshot: schedule with the current step, declared and observed
weights, each metric against its threshold, this Canary's latest events, and the result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from cliworld import snap, status
from rich.console import Console

from canary.api.spec import CanarySpec
from canary.cli.conclusion import Conclusion
from canary.cli.events import EventLine, recent_events
from canary.cli.exitcodes import ExitCode
from canary.cli.snapshot import Snapshot
from canary.cli.split import DEFAULT_SPLIT_QUERY, Split, split_of
from canary.cli.split import window as split_window
from canary.cli.view import view
from canary.core.observations import MetricSample
from canary.providers.render import render

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, 30, tzinfo=UTC)
NOT_CONFIGURED = Split(False)
RESULT = {
    "name": "success-rate",
    "outcome": "Value",
    "value": 97.5,
    "min": 99,
    "verdict": "Fail",
    "time": "2025-03-01T12:00:20Z",
    "message": "97.5 is below min 99",
}


def draw(
    snapshot: Snapshot,
    *,
    events: Sequence[EventLine] = (),
    split: Split = NOT_CONFIGURED,
    conclusion: Conclusion | None = None,
) -> str:
    console = Console(record=True, width=140)
    console.print(view(snapshot, events=events, split=split, now=NOW, conclusion=conclusion))
    return console.export_text()


def event(name: str, reason: str, at: str, uid: str = "uid-1") -> dict[str, object]:
    return {
        "regarding": {"kind": "Canary", "name": name, "uid": uid},
        "reason": reason,
        "type": "Normal",
        "note": reason.lower(),
        "eventTime": at,
    }


def test_a_progressing_rollout_shows_steps_weights_metrics_and_events() -> None:
    progressing = snap(
        status=status(
            "Progressing",
            currentStep=2,
            totalSteps=3,
            canaryWeight=25,
            stableWeight=75,
            failedChecks=1,
            lastCheckTime="2025-03-01T12:00:20Z",
            metrics=[RESULT],
        )
    )
    events = recent_events([event("api", "StepAdvanced", "2025-03-01T12:00:10Z")], progressing)
    text = draw(progressing, events=events, split=Split(True, 24.0, 7.6, 2.4))
    assert "Canary shop/api   Progressing   revision v2" in text
    assert "Steps     5% -> [25%] -> 50% -> promote   (step 2/3)" in text
    assert "Declared  stable 75% / canary 25%" in text
    assert "Observed  stable 76.0% / canary 24.0% of 10.00 req/s" in text
    assert "Checks    last 10s ago, failed 1/-" in text
    row = next(line for line in text.splitlines() if "success-rate" in line)
    assert row.split()[:6] == ["success-rate", "97.5", ">=", "99", "Fail", "10s"]
    assert "StepAdvanced" in text and "Result:" not in text


def test_a_finished_rollout_shows_the_result_and_a_paused_one_does_not_look_finished() -> None:
    done = snap(status=status("Succeeded", canaryWeight=100, stableWeight=0))
    text = draw(done, conclusion=Conclusion(ExitCode.OK, "revision v2 promoted"))
    assert "Result: revision v2 promoted (exit 0)" in text
    assert "Observed  not configured" in text and "Metrics   no check yet" in text
    paused = draw(snap(paused=True, status=status("Paused")), conclusion=Conclusion(None, "held"))
    assert "not finished: resume with `canary resume api`" in paused and "Result:" not in paused


def test_a_new_revision_not_started_yet_is_pointed_out() -> None:
    text = draw(snap(revision="v3", status=status("Succeeded")))
    assert "revision v2 (spec asks for v3: not started yet)" in text


def test_events_are_this_canarys_latest_in_time_order() -> None:
    me = snap(status=status("Progressing"))
    items = [
        event("api", "B", "2025-03-01T12:00:02Z"),
        event("other", "X", "2025-03-01T12:00:03Z"),
        event("api", "Old", "2025-03-01T11:00:00Z", uid="uid-0"),
        event("api", "A", "2025-03-01T12:00:01Z"),
    ]
    assert [e.reason for e in recent_events(items, me)] == ["A", "B"]
    many = [event("api", f"E{i}", f"2025-03-01T12:00:{i:02d}Z") for i in range(10)]
    assert [e.reason for e in recent_events(many, me, limit=3)] == ["E7", "E8", "E9"]


def test_the_observed_split_is_the_canarys_share_of_both_rates() -> None:
    split = split_of(MetricSample.of("stable", 30.0), MetricSample.of("canary", 10.0))
    assert split.canary_percent == 25.0
    assert split_of(MetricSample.no_data("s"), MetricSample.no_data("c")).note == "no traffic seen"
    assert split_of(MetricSample.no_data("s"), MetricSample.of("c", 4.0)).canary_percent == 100
    failed = split_of(MetricSample.failed("s", "refused"), MetricSample.of("c", 1.0))
    assert failed.canary_percent is None and "refused" in failed.note


@pytest.mark.parametrize(
    ("interval", "window"), [("5s", "30s"), ("30s", "30s"), ("2m", "120s"), ("90s", "90s")]
)
def test_the_observed_split_is_a_rate_over_the_step_interval_of_at_least_30s(
    interval: str, window: str
) -> None:
    spec = CanarySpec.model_validate({
        "routeRef": {"name": "web"}, "stable": {"name": "web-v1", "port": 80},
        "canary": {"name": "web-v2", "port": 80}, "steps": {"weights": [10], "interval": interval},
    })
    query = render(DEFAULT_SPLIT_QUERY, {"namespace": "shop", "service": "web-v2", "port": "80",
                                         "interval": split_window(spec)})
    assert query.endswith(f"[{window}]))")
    # Our sandbox's cluster names and Contour's Prometheus label both match.
    assert 'envoy_cluster_name=~"shop[/_]web-v2[/_]80"' in query
