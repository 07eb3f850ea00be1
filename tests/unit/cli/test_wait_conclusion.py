"""What `wait` concludes from one look at a Canary: the documented exit code of each final
state, and never a previous rollout's result for the one waited for."""

from __future__ import annotations

import pytest
from cliworld import condition, snap, status

from canary.cli.conclusion import Target, WaitFor, judge
from canary.cli.exitcodes import ExitCode

pytestmark = pytest.mark.unit

OK, FAILED, NOT_FOUND = ExitCode.OK, ExitCode.FAILED, ExitCode.NOT_FOUND
ROLLED_BACK = status(
    "RolledBack",
    conditions=[condition("RolledBack", "True", "MetricChecksFailed", "success-rate 50 < 99")],
)


@pytest.mark.parametrize(
    ("phase_status", "want", "code"),
    [
        (status("Succeeded"), WaitFor.PROMOTED, OK),
        (status("Succeeded"), WaitFor.FINISHED, OK),
        (status("Succeeded"), WaitFor.ROLLED_BACK, FAILED),
        (ROLLED_BACK, WaitFor.PROMOTED, FAILED),
        (ROLLED_BACK, WaitFor.ROLLED_BACK, OK),
        (ROLLED_BACK, WaitFor.FINISHED, OK),
        (status("Failed", message="unsupported"), WaitFor.PROMOTED, FAILED),
        (status("Failed"), WaitFor.ROLLED_BACK, FAILED),
        (status("Failed"), WaitFor.FINISHED, OK),
        (status("Pending"), WaitFor.FINISHED, None),
        (status("Progressing"), WaitFor.PROMOTED, None),
        (status("Paused"), WaitFor.FINISHED, None),
        (status("Promoting"), WaitFor.PROMOTED, None),
    ],
)
def test_each_phase_gives_the_documented_exit_code(
    phase_status: dict[str, object], want: WaitFor, code: ExitCode | None
) -> None:
    conclusion = judge(snap(status=phase_status), Target(want, "v2", min_generation=1))
    assert conclusion.code == code, conclusion.message


def test_a_missing_canary_is_not_found() -> None:
    assert judge(None, Target(WaitFor.PROMOTED, None, 0)).code is NOT_FOUND


def test_a_rollback_says_why() -> None:
    said = judge(snap(status=ROLLED_BACK), Target(WaitFor.PROMOTED, None, 1)).message
    assert said == "revision v2 rolled back (MetricChecksFailed): success-rate 50 < 99"


def test_a_status_older_than_the_generation_at_the_start_is_never_final() -> None:
    old = snap(generation=2, status=status("Succeeded", generation=1))
    conclusion = judge(old, Target(WaitFor.PROMOTED, None, min_generation=2))
    assert not conclusion.done
    assert "observe generation 2" in conclusion.message


def test_the_previous_revisions_success_is_not_the_new_revisions() -> None:
    previous = snap(
        revision="v3", status=status("Succeeded", revision="v2", generation=2), generation=2
    )
    for revision in ("v3", None):
        conclusion = judge(previous, Target(WaitFor.PROMOTED, revision, min_generation=2))
        assert not conclusion.done, revision
        assert "revision v3 has not started yet" in conclusion.message


def test_a_paused_canary_holding_back_a_new_revision_says_so() -> None:
    held = snap(revision="v3", paused=True, status=status("Succeeded", revision="v2"))
    conclusion = judge(held, Target(WaitFor.PROMOTED, "v3", min_generation=1))
    assert not conclusion.done
    assert "canary resume" in conclusion.message


def test_a_wait_for_a_revision_the_spec_no_longer_asks_for_fails() -> None:
    newer = snap(revision="v4", status=status("Progressing", revision="v4"))
    conclusion = judge(newer, Target(WaitFor.PROMOTED, "v3", min_generation=1))
    assert conclusion.code is FAILED
    assert "asks for revision v4, not v3" in conclusion.message


def test_without_spec_revision_the_canary_backend_is_the_revision() -> None:
    backend = snap(revision=None, status=status("Succeeded", revision="api-v2:8080"))
    assert judge(backend, Target(WaitFor.PROMOTED, "api-v2:8080", 1)).code is OK


@pytest.mark.parametrize(
    ("reason", "paused", "says"),
    [
        ("PausedBySpec", True, "resume with `canary resume api`"),
        ("AwaitingPromotion", False, "`canary promote api`"),
        ("PauseStep", False, "timed pause step"),
    ],
)
def test_paused_is_never_final_and_says_how_it_ends(reason: str, paused: bool, says: str) -> None:
    held = snap(
        paused=paused,
        status=status(
            "Paused",
            conditions=[condition("Paused", "True", reason)],
            currentStep=2,
            totalSteps=3,
            canaryWeight=25,
        ),
    )
    conclusion = judge(held, Target(WaitFor.FINISHED, None, 1))
    assert not conclusion.done
    assert conclusion.message.startswith("Paused (") and says in conclusion.message
    assert "step 2/3, canary 25%" in conclusion.message


def test_no_status_at_all_asks_whether_the_operator_runs() -> None:
    conclusion = judge(snap(status={}), Target(WaitFor.PROMOTED, None, 1))
    assert "is the operator running?" in conclusion.message


def test_a_revision_the_operator_refuses_to_start_fails_the_wait_at_once() -> None:
    refused = status(
        "Succeeded",
        revision="v2",
        generation=2,
        conditions=[condition("InvalidSpec", "True", "SameBackendsAfterPromotion",
                              "would send 70% back to api-v1")],
    )
    conclusion = judge(snap(generation=2, revision="v3", status=refused),
                    Target(WaitFor.PROMOTED, "v3", min_generation=2))
    assert conclusion.code is FAILED
    assert "SameBackendsAfterPromotion" in conclusion.message
    assert "revision v3 will not start" in conclusion.message
