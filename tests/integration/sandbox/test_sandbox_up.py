"""`canary sandbox up`, as a person runs it: a cluster that runs Pods (its own control plane,
the real controllers, the node agent), reachable with kubectl from inside the sandbox's network
namespace, and nothing left behind after SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.procs import wait_dead
from harness.workloads import demo_deployment_manifest

from canary.sandbox.controlplane.launcher import ExistingCluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(os.environ.get("CANARY_TEST_KUBECONFIG")), reason="starts a sandbox of its own"
    ),
]

START_SECONDS = 120


def _wait_for_line(log: Path, pattern: str, process: subprocess.Popen[bytes]) -> re.Match[str]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if match := re.search(pattern, text):
            return match
        if process.poll() is not None:
            raise AssertionError(f"canary sandbox up exited {process.returncode}:\n{text}")
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} in:\n{log.read_text(errors='replace')}")


def _descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        direct = [int(p) for p in children.read_text().split()]
    except OSError:
        return []
    return direct + [d for c in direct for d in _descendants(c)]


def test_sandbox_up_runs_a_deployment_and_stops_everything(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "canary", "sandbox", "up", f"--workdir={tmp_path / 'sb'}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        found = _wait_for_line(log, r"KUBECONFIG=(\S+)", process)
        _wait_for_line(log, r"Press Ctrl-C", process)
        cluster = ExistingCluster(Path(found.group(1)))
        deadline = time.monotonic() + START_SECONDS
        while "Ready" not in cluster.kubectl("get", "nodes", "--no-headers"):
            assert time.monotonic() < deadline, "the node agent's Node never became Ready"
            time.sleep(0.5)
        manifest = demo_deployment_manifest("web", image="demoapp:v1", replicas=1)
        cluster.kubectl("apply", "-n", "default", "-f", "-", input_text=json.dumps(manifest))
        cluster.kubectl(
            "rollout", "status", "deployment/web", "-n", "default", f"--timeout={START_SECONDS}s"
        )
        pids = _descendants(process.pid)
        assert pids, "sandbox up started no server"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, log.read_text(errors="replace")
    assert wait_dead(pids) == []

