"""The invariant checker on hand-written histories: each rule catches what it is for, and a
correct promotion or rollback passes. Pure: no server."""

from __future__ import annotations

import pytest
from faults.invariants import Expected, History, RouteSample, StatusSample, check

pytestmark = [pytest.mark.unit, pytest.mark.faults]

STEPS = (10, 30, 60)


class Builder:
    """Appends route and status samples with increasing resourceVersions, like one etcd."""

    def __init__(self) -> None:
        self.history = History("ns/api")
        self.rv = 100
        self.generation = 1
        self.at = 1000.0

    def route(self, canary: int, *, write: bool = True, stable: int | None = None) -> Builder:
        self.rv += 1
        self.at += 0.5
        if write and self.history.routes:
            self.generation += 1
        self.history.routes.append(
            RouteSample(
                self.rv,
                self.at,
                self.generation,
                canary,
                100 - canary if stable is None else stable,
            )
        )
        return self

    def status(self, phase: str, step: int = 0, canary: int = 0, failed: int = 0) -> Builder:
        self.rv += 1
        self.at += 0.5
        self.history.statuses.append(StatusSample(self.rv, self.at, phase, step, canary, failed))
        return self


def promotion() -> Builder:
    b = Builder().route(0).status("Pending")
    for step, weight in enumerate(STEPS, 1):
        b.status("Progressing", step, weight).route(weight)
    return b.status("Promoting", 3, 100).route(100).status("Succeeded", 3, 100)


def rollback(*, at_step: int = 2, threshold: int = 2) -> Builder:
    b = Builder().route(0).status("Pending")
    for step, weight in enumerate(STEPS[:at_step], 1):
        b.status("Progressing", step, weight).route(weight)
    weight = STEPS[at_step - 1]
    for failed in range(1, threshold):
        b.status("Progressing", at_step, weight, failed)
    return b.route(0).status("RolledBack", at_step, 0, threshold)


def test_a_correct_promotion_passes() -> None:
    b = promotion()
    assert check(b.history, Expected(STEPS, "Succeeded")) == []
    assert b.history.weights() == [0, 10, 30, 60, 100]
    assert b.history.route_writes() == 4


def test_a_correct_rollback_passes() -> None:
    b = rollback()
    expected = Expected(STEPS, "RolledBack", failure_threshold=2, fails_for_good=True)
    assert check(b.history, expected) == []
    assert b.history.weights() == [0, 10, 30, 0]


def test_traffic_put_back_on_a_rolled_back_canary_is_caught() -> None:
    """Known bug 1's shape: killed between the rollback's route and status writes, the next
    operator restores the weight, checks again and rolls back a second time."""
    b = Builder().route(0).status("Pending").status("Progressing", 1, 10).route(10)
    b.status("Progressing", 1, 10, 1).route(0)  # rollback route write; status write lost
    b.route(10).status("Progressing", 1, 10, 1)  # restored "drift"
    b.status("Progressing", 1, 10, 2).route(0).status("RolledBack", 1, 0, 2)
    found = check(b.history, Expected(STEPS, "RolledBack", failure_threshold=2))
    assert any("went back towards the canary" in f for f in found), found
    assert any("0 → 10" in f for f in found)


def test_a_skipped_step_is_caught() -> None:
    b = Builder().route(0).status("Progressing", 1, 10).route(10)
    b.status("Progressing", 3, 60).route(60).status("Promoting", 3, 100).route(100)
    b.status("Succeeded", 3, 100)
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("skipped [30]" in f for f in found), found


def test_a_repeated_step_is_caught() -> None:
    b = Builder().route(0).route(10).route(30).route(10).route(30).route(60).route(100)
    b.status("Succeeded", 3, 100)
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("went down from 30 to 10 without a rollback" in f for f in found), found


def test_a_write_that_changes_no_weight_is_caught() -> None:
    b = promotion()
    b.route(100)  # a new generation, same weights
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("without changing the weights" in f for f in found), found


def test_weights_that_do_not_add_up_are_caught() -> None:
    b = promotion()
    b.route(100, stable=5)
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("do not add up to 100" in f for f in found), found


def test_rolled_back_visible_before_the_route_is_at_zero_is_caught() -> None:
    b = Builder().route(0).status("Progressing", 1, 10).route(10)
    b.status("RolledBack", 1, 0, 2).route(0)  # status first: the documented exception broken
    found = check(b.history, Expected(STEPS, "RolledBack"))
    assert any("RolledBack was visible" in f and "10 %" in f for f in found), found


def test_succeeded_before_the_route_carries_everything_is_caught() -> None:
    b = Builder().route(0).status("Progressing", 1, 10).route(10).route(30).route(60)
    b.status("Succeeded", 3, 100).route(100)
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("Succeeded was visible" in f for f in found), found


def test_a_finished_phase_that_changes_is_caught() -> None:
    b = promotion().status("Progressing", 1, 10)
    found = check(b.history, Expected(STEPS, "Succeeded"))
    assert any("finished phase Succeeded became Progressing" in f for f in found), found


def test_a_step_counter_going_back_is_caught() -> None:
    b = Builder().route(0).status("Progressing", 2, 30).status("Progressing", 1, 30)
    found = check(b.history, Expected(STEPS, "RolledBack"))
    assert any("currentStep went back from 2 to 1" in f for f in found), found


def test_the_wrong_ending_is_caught() -> None:
    found = check(rollback().history, Expected(STEPS, "Succeeded"))
    assert any("ended in RolledBack, expected Succeeded" in f for f in found), found
    assert any("route ended at 0 %" in f for f in found), found
    found = check(rollback(threshold=3).history, Expected(STEPS, "RolledBack", 2))
    assert any("3 failed checks, expected exactly 2" in f for f in found), found


def test_a_rise_after_a_failed_check_is_caught_when_the_canary_fails_for_good() -> None:
    b = Builder().route(0).status("Progressing", 1, 10).route(10)
    b.status("Progressing", 1, 10, 1).status("Progressing", 2, 30, 1).route(30)
    b.status("Progressing", 2, 30, 2).route(0).status("RolledBack", 2, 0, 2)
    assert check(b.history, Expected(STEPS, "RolledBack")) == []
    found = check(b.history, Expected(STEPS, "RolledBack", fails_for_good=True))
    assert any("rose from 10 to 30 %" in f and "after a failed check" in f for f in found), found


def test_a_rise_within_a_hold_window_is_caught() -> None:
    b = promotion()
    rise_to_30 = next(s for s in b.history.routes if s.canary == 30)
    window = ((rise_to_30.at - 0.1, rise_to_30.at + 0.1),)
    found = check(b.history, Expected(STEPS, "Succeeded", no_rise_windows=window))
    assert any("rose from 10 to 30 % during a window" in f for f in found), found
    quiet = ((rise_to_30.at + 0.1, rise_to_30.at + 0.2),)
    assert check(b.history, Expected(STEPS, "Succeeded", no_rise_windows=quiet)) == []


def test_an_empty_history_is_a_violation() -> None:
    found = check(History("ns/x"), Expected(STEPS, "Succeeded"))
    assert found == ["ns/x: no route sample recorded"]
