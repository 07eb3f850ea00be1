"""The fail point switch on its own: parsing, what counts as which write, and that an unarmed
operator gets the plain client. Firing is exercised on the real operator by the SIGKILL and
failover scenarios (the process SIGKILLs itself at the named write)."""

from __future__ import annotations

import pytest

from canary.controller import failpoints
from canary.controller.failpoints import FailPoints, Write, classify, kube_class
from canary.kube.client import Kube
from canary.kube.resources import CANARY, EVENT, GRPCROUTE, HTTPROUTE

pytestmark = [pytest.mark.unit, pytest.mark.faults]


def test_unarmed_means_the_plain_client() -> None:
    assert kube_class({}) is Kube
    assert kube_class({"CANARY_FAILPOINTS": "  "}) is Kube


def test_armed_means_a_client_that_stops_at_the_points() -> None:
    cls = kube_class({"CANARY_FAILPOINTS": "before-status-write:RolledBack,after-route-write:3"})
    assert cls is not Kube and issubclass(cls, Kube)
    assert cls.failpoints.armed == {  # type: ignore[attr-defined]
        "before-status-write:RolledBack",
        "after-route-write:3",
    }


@pytest.mark.parametrize(
    "text", ["nowhere:1", "after-route-write", "after-route-write:x", "before-status-write:"]
)
def test_a_misspelled_point_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="CANARY_FAILPOINTS"):
        FailPoints.parse(text)


def test_writes_are_told_apart() -> None:
    status = [{"op": "add", "path": "/status", "value": {"phase": "RolledBack"}}]
    assert classify(CANARY, status, "status") == Write(phase="RolledBack")
    assert classify(CANARY, {"status": {"phase": "Succeeded"}}, "status") == Write(
        phase="Succeeded"
    )
    assert classify(CANARY, {"metadata": {"finalizers": []}}, None) == Write()
    assert classify(HTTPROUTE, [{"op": "test"}], None) == Write(route=True)
    assert classify(GRPCROUTE, [], None) == Write(route=True)
    assert classify(HTTPROUTE, {}, "status") == Write()
    assert classify(EVENT, {}, None) == Write()


def test_route_writes_are_counted_and_the_nth_fires(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("canary.controller.failpoints.os.kill", lambda pid, sig: exits.append(-sig))
    points = FailPoints.parse("after-route-write:2")
    points.before(Write(route=True))
    points.after(Write(route=True))
    assert exits == []
    points.before(Write(route=True))
    points.after(Write(route=True))
    assert exits == [failpoints.EXIT_CODE]


def test_a_phase_point_fires_on_that_phase_only(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("canary.controller.failpoints.os.kill", lambda pid, sig: exits.append(-sig))
    points = FailPoints.parse("before-status-write:RolledBack")
    points.before(Write(phase="Progressing"))
    points.after(Write(phase="RolledBack"))
    assert exits == []
    points.before(Write(phase="RolledBack"))
    assert exits == [failpoints.EXIT_CODE]


def test_workload_writes_are_counted_apart_from_route_writes() -> None:
    from canary.kube.resources import DEPLOYMENT, SERVICE

    assert classify(DEPLOYMENT, {"spec": {"replicas": 0}}, None) == Write(workload=True)
    assert classify(SERVICE, {}, None) == Write(workload=True)
    points = FailPoints.parse("after-workload-write:2")
    points.after(Write(workload=True))
    assert (points.workload_writes, points.route_writes) == (1, 0)
