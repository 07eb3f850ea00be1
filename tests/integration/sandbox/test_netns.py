"""The session runs in the sandbox's own network namespace: pod addresses are local there,
loopback works, and the namespace has no way out (only `lo`)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from canary.sandbox import netns

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CANARY_TEST_KUBECONFIG")), reason="on an existing cluster's network"
)


def test_the_session_is_inside_its_own_namespace() -> None:
    assert netns.inside()
    assert Path(f"/proc/{os.getppid()}/ns/net").stat().st_ino != netns.current()


def test_a_pod_address_accepts_connections_from_inside() -> None:
    address = netns.pod_address(300)
    with socket.socket() as server:
        server.bind((address, 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            assert client.getpeername() == server.getsockname()


def test_the_only_link_is_loopback() -> None:
    links = subprocess.run(
        ["ip", "-o", "link"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]


def test_a_child_process_stays_inside() -> None:
    done = subprocess.run(
        ["python3", "-c", "import os; print(os.stat('/proc/self/ns/net').st_ino)"],
        capture_output=True, text=True, check=True,
    )
    assert int(done.stdout) == netns.current()
