"""/healthz and /readyz over real HTTP on loopback: liveness follows the event loop's heartbeat
(a blocked loop fails it while the server thread still answers), readiness follows leadership
and cache sync."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from canary.sandbox.processes import LOOPBACK, free_port
from canary.telemetry.health import HealthServer, HealthState, heartbeat

pytestmark = pytest.mark.unit


def get(server: HealthServer, path: str) -> tuple[int, str]:
    url = f"http://{LOOPBACK}:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode().strip()


@pytest.fixture
def serve() -> Iterator[list[HealthServer]]:
    servers: list[HealthServer] = []
    yield servers
    for server in servers:
        server.stop()


def start(servers: list[HealthServer], state: HealthState) -> HealthServer:
    server = HealthServer(state, address=LOOPBACK, port=free_port()).start()
    servers.append(server)
    return server


def test_leader_is_ready_only_once_its_caches_are_synced(serve: list[HealthServer]) -> None:
    state = HealthState(leader_election=True, leading=True)
    server = start(serve, state)
    assert get(server, "/readyz") == (503, "caches not synced yet")
    state.caches_synced = True
    assert get(server, "/readyz") == (200, "leading")


def test_standby_is_ready_without_caches(serve: list[HealthServer]) -> None:
    server = start(serve, HealthState(leader_election=True, leading=False))
    assert get(server, "/readyz") == (200, "standby: waiting for the leader lease")


def test_without_leader_election_ready_means_caches_synced(serve: list[HealthServer]) -> None:
    state = HealthState(leader_election=False)
    server = start(serve, state)
    assert get(server, "/readyz")[0] == 503
    state.caches_synced = True
    assert get(server, "/readyz") == (200, "ok")


def test_unknown_path_is_not_found(serve: list[HealthServer]) -> None:
    server = start(serve, HealthState())
    assert get(server, "/metrics")[0] == 404


async def test_liveness_fails_while_the_event_loop_is_blocked(serve: list[HealthServer]) -> None:
    state = HealthState(stall_after=0.3)
    server = start(serve, state)
    beating = asyncio.create_task(heartbeat(state, interval=0.05))
    await asyncio.sleep(0)
    try:
        assert get(server, "/healthz") == (200, "ok")
        time.sleep(0.5)  # noqa: ASYNC251 - the condition under test: a blocked event loop
        code, reason = get(server, "/healthz")
        assert code == 503 and reason.startswith("event loop unresponsive for")
        stalled_since = state.last_beat
        async with asyncio.timeout(5):
            # The loop runs again: wait for the next beat (a float another task writes).
            while state.last_beat == stalled_since:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert get(server, "/healthz") == (200, "ok")
    finally:
        beating.cancel()
