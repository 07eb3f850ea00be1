"""No control-plane process outlives its owner: clean stop, and parent killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.procs import alive, wait_dead

from canary.sandbox.controlplane import build
from canary.sandbox.controlplane.launcher import ControlPlane

pytestmark = pytest.mark.integration


def test_stop_leaves_no_process_behind() -> None:
    plane = ControlPlane(install_gateway_api=False).start()
    pids = plane.pids
    assert len(pids) == 2
    assert all(alive(pid) for pid in pids)
    plane.stop()
    assert wait_dead(pids) == []


def test_children_die_when_the_owning_process_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    script = (
        "import sys, time\n"
        "from canary.sandbox.controlplane.launcher import ControlPlane\n"
        "plane = ControlPlane(install_gateway_api=False).start()\n"
        f"open({str(pid_file)!r}, 'w').write(' '.join(map(str, plane.pids)))\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert owner.poll() is None, "the owning process died before starting the control plane"
        assert time.monotonic() < deadline, "control plane did not start"
        time.sleep(0.2)
    pids = [int(p) for p in pid_file.read_text().split()]
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    assert wait_dead(pids) == []


def test_second_build_call_reuses_the_cached_binaries() -> None:
    first = build.ensure_kube_apiserver()
    mtime = first.stat().st_mtime
    started = time.monotonic()
    again = build.ensure_kube_apiserver()
    assert again == first
    assert again.stat().st_mtime == mtime
    assert time.monotonic() - started < 5
    assert build.ensure_etcd().exists()
