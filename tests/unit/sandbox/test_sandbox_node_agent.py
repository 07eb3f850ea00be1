"""The pure parts of the sandbox node agent: the image catalog, pod addresses, readiness
thresholds, restart policy and the Pod status a kubelet would write."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from canary.sandbox import netns
from canary.sandbox.controlplane import certs, controllers
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.nodeagent.addresses import AddressesExhausted, PodAddresses
from canary.sandbox.nodeagent.container import restarts
from canary.sandbox.nodeagent.images import SANDBOX_IMAGES, ImageRef, UnknownImage, launch
from canary.sandbox.nodeagent.pod import pre_stop_sleep
from canary.sandbox.nodeagent.probes import HttpProbe, Readiness
from canary.sandbox.nodeagent.status import (
    CRASH_LOOP_BACK_OFF,
    ERR_IMAGE_PULL,
    ContainerView,
    PodPhase,
    PodView,
    State,
    Termination,
    pod_phase,
    pod_status,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("reference", "name", "tag"),
    [
        ("demoapp:v2", "demoapp", "v2"),
        ("canary-sandbox/demoapp:v2", "demoapp", "v2"),
        ("registry.local:5000/org/demoapp:v3", "demoapp", "v3"),
        ("demoapp", "demoapp", "latest"),
        ("demoapp:v1@sha256:abc", "demoapp", "v1"),
    ],
)
def test_an_image_reference_is_looked_up_by_its_last_name_and_tag(
    reference: str, name: str, tag: str
) -> None:
    image = ImageRef.parse(reference)
    assert (image.name, image.tag) == (name, tag)


def test_the_image_id_is_stable_and_differs_by_tag() -> None:
    assert ImageRef.parse("demoapp:v1").image_id == ImageRef.parse("x/demoapp:v1").image_id
    assert ImageRef.parse("demoapp:v1").image_id != ImageRef.parse("demoapp:v2").image_id


def _args(argv: list[str]) -> dict[str, str]:
    return dict(zip(argv[3::2], argv[4::2], strict=True))


def test_demoapp_runs_the_tag_as_its_version_bound_to_the_pod_address() -> None:
    how = launch(SANDBOX_IMAGES, "demoapp:v2", host="10.244.3.232", port=8080, env={})
    assert how.argv[:3] == [sys.executable, "-m", "canary.sandbox.demoapp"]
    args = _args(how.argv)
    assert args["--version"] == "v2"
    assert (args["--host"], args["--port"]) == ("10.244.3.232", "8080")
    assert float(args["--error-rate"]) == 0.0


def test_demoapp_v3_fails_thirty_percent_unless_the_container_env_says_otherwise() -> None:
    v3 = launch(SANDBOX_IMAGES, "demoapp:v3", host="10.244.0.9", port=80, env={})
    assert float(_args(v3.argv)["--error-rate"]) == 0.3
    env = {"DEMO_ERROR_RATE": "0", "DEMO_LATENCY": "0.25", "OTHER": "x"}
    calm = launch(SANDBOX_IMAGES, "demoapp:v3", host="10.244.0.9", port=80, env=env)
    assert float(_args(calm.argv)["--error-rate"]) == 0.0
    assert float(_args(calm.argv)["--latency"]) == 0.25
    assert calm.env["OTHER"] == "x"


def test_an_image_outside_the_catalog_is_refused_with_a_message_naming_it() -> None:
    with pytest.raises(UnknownImage, match=r'"nginx:1\.27" is not in the sandbox image catalog'):
        launch(SANDBOX_IMAGES, "nginx:1.27", host="10.244.0.9", port=80, env={})


def test_a_non_numeric_error_rate_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="could not convert"):
        launch(SANDBOX_IMAGES, "demoapp:v1", host="h", port=1, env={"DEMO_ERROR_RATE": "lots"})


def test_addresses_are_distinct_while_in_use_and_freed_on_release() -> None:
    addresses = PodAddresses(first=10, last=12)
    a, b = addresses.allocate("a"), addresses.allocate("b")
    assert (a, b) == (netns.pod_address(10), netns.pod_address(11))
    assert addresses.allocate("a") == a  # the same owner keeps its address
    addresses.release("a")
    assert addresses.allocate("c") == a
    assert set(addresses.in_use().values()) == {a, b}
    addresses.allocate("d")
    with pytest.raises(AddressesExhausted):
        addresses.allocate("e")


def test_a_named_probe_port_resolves_to_the_container_port() -> None:
    spec = {"httpGet": {"path": "/-/healthz", "port": "http"}, "periodSeconds": 2}
    probe = HttpProbe.from_spec(spec, {"http": 8080})
    assert probe is not None
    assert (probe.path, probe.port, probe.period, probe.failure_threshold) == (
        "/-/healthz",
        8080,
        2.0,
        3,
    )
    assert HttpProbe.from_spec({"exec": {"command": ["true"]}}, {}) is None
    with pytest.raises(ValueError, match="unknown port"):
        HttpProbe.from_spec({"httpGet": {"port": "web"}}, {"http": 8080})


def test_readiness_flips_only_past_the_thresholds() -> None:
    readiness = Readiness(HttpProbe("/", 80, failure_threshold=2, success_threshold=1))
    readiness.reset()
    assert not readiness.ready
    assert readiness.record(True) and readiness.ready
    assert not readiness.record(False) and readiness.ready
    assert readiness.record(False) and not readiness.ready
    without = Readiness(None)
    without.reset()
    assert without.ready


def _sleeping(*seconds: int) -> list[dict[str, object]]:
    return [
        {"name": f"c{i}", "lifecycle": {"preStop": {"sleep": {"seconds": s}}}}
        for i, s in enumerate(seconds)
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"containers": [{"name": "app"}]}, 0.0),
        ({"containers": _sleeping(2)}, 2.0),
        ({"containers": _sleeping(1, 4)}, 4.0),  # the hooks run side by side: the longest
        ({"containers": _sleeping(20), "terminationGracePeriodSeconds": 3}, 3.0),  # within grace
        ({"containers": _sleeping(60)}, 10.0),  # and within the agent's own cap
        ({"containers": [{"name": "app", "lifecycle": {"preStop": {"exec": {}}}}]}, 0.0),
    ],
)
def test_a_pre_stop_sleep_is_the_longest_hook_within_the_grace_period(
    spec: dict[str, object], expected: float
) -> None:
    assert pre_stop_sleep(spec) == expected


@pytest.mark.parametrize(
    ("policy", "code", "again"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 1, False),
    ],
)
def test_restart_policy(policy: str, code: int, again: bool) -> None:
    assert restarts(policy, code) is again


T0, T1 = "2026-12-02T02:00:00Z", "2026-12-02T02:00:05Z"


def running(ready: bool, name: str = "app") -> ContainerView:
    return ContainerView(
        name, "demoapp:v1", "sandbox://id", State.RUNNING, ready=ready, started_at=T0, process_id=7
    )


def test_a_running_ready_pod_reports_every_condition_true() -> None:
    status = pod_status(PodView([running(True)], "127.0.0.1", T0, T1, "10.244.3.232"))
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.244.3.232" and status["podIPs"] == [{"ip": "10.244.3.232"}]
    assert status["hostIP"] == "127.0.0.1"
    conditions = {c["type"]: (c["status"], c["lastTransitionTime"]) for c in status["conditions"]}
    assert conditions == {
        "PodScheduled": ("True", T0),
        "Initialized": ("True", T0),
        "ContainersReady": ("True", T1),
        "Ready": ("True", T1),
    }
    (container,) = status["containerStatuses"]
    assert container["ready"] and container["started"]
    assert container["state"] == {"running": {"startedAt": T0}}
    assert container["containerID"] == "sandbox://7"


def test_an_unready_container_makes_the_pod_unready_and_names_it() -> None:
    status = pod_status(PodView([running(True), running(False, "side")], "h", T0, T0, "10.244.0.1"))
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and "side" in ready["message"]


def test_an_image_it_cannot_run_leaves_the_pod_pending_with_the_reason() -> None:
    broken = ContainerView(
        "app", "nosuch:v1", "", State.WAITING, reason=ERR_IMAGE_PULL, message="not in catalog"
    )
    status = pod_status(PodView([broken], "h", T0, T0))
    assert status["phase"] == "Pending" and status["podIP"] is None
    (container,) = status["containerStatuses"]
    assert container["state"] == {
        "waiting": {"reason": ERR_IMAGE_PULL, "message": "not in catalog"}
    }
    assert not container["ready"] and not container["started"]


def test_phases_follow_the_containers() -> None:
    ended_ok = Termination(0, T0, T1)
    ended_bad = Termination(1, T0, T1)
    done = ContainerView("a", "i", "id", State.TERMINATED, last=ended_ok)
    failed = ContainerView("b", "i", "id", State.TERMINATED, last=ended_bad)
    backoff = ContainerView(
        "c", "i", "id", State.WAITING, reason=CRASH_LOOP_BACK_OFF, restart_count=1, last=ended_bad
    )
    assert pod_phase([done]) is PodPhase.SUCCEEDED
    assert pod_phase([done, failed]) is PodPhase.FAILED
    assert pod_phase([backoff]) is PodPhase.RUNNING
    assert pod_phase([ContainerView("d", "i", "id", State.WAITING)]) is PodPhase.PENDING
    status = backoff.status()
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["restartCount"] == 1


def test_the_controllers_run_on_loopback_without_node_ipam_or_leader_election() -> None:
    pki = certs.CertPaths(*(Path(f"/pki/{n}") for n in "abcdefgh"))
    plane = ControlPlane(kubeconfig=Path("/k"), _pki=pki)
    manager = controllers.controller_manager_command(Path("/kcm"), plane, port=1234)
    assert "--controllers=*,-nodeipam" in manager
    assert "--leader-elect=false" in manager and "--bind-address=127.0.0.1" in manager
    assert f"--service-account-private-key-file={pki.sa_private}" in manager
    assert f"--root-ca-file={pki.ca_cert}" in manager
    scheduler = controllers.scheduler_command(Path("/ks"), plane, port=1235)
    assert scheduler[1:] == [
        "--kubeconfig=/k",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--secure-port=1235",
        "--v=0",
    ]
