"""`/healthz` and `/readyz` for the kubelet, served from a thread so a stuck loop is visible.

The event loop only beats a heartbeat and flips flags; the HTTP server runs on its own thread
and judges them, so a blocked loop fails `/healthz` with a reason instead of hanging the probe.
It decides nothing about Canaries and never talks to Kubernetes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HealthState:
    """What the probes report. Written by the event loop, read by the server thread."""

    leader_election: bool = False
    stall_after: float = 20.0
    leading: bool = False
    caches_synced: bool = False
    last_beat: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def live(self) -> tuple[bool, str]:
        """Alive while the event loop keeps beating."""
        lag = time.monotonic() - self.last_beat
        if lag > self.stall_after:
            return False, f"event loop unresponsive for {lag:.1f}s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        """A standby is ready (it can take over at any time); the leader once caches synced."""
        if self.leader_election and not self.leading:
            return True, "standby: waiting for the leader lease"
        if not self.caches_synced:
            return False, "caches not synced yet"
        return True, "leading" if self.leader_election else "ok"


async def heartbeat(state: HealthState, *, interval: float = 1.0) -> None:
    """Beat until cancelled. Real time on purpose: it measures the real loop's responsiveness."""
    while True:
        state.beat()
        await asyncio.sleep(interval)


class HealthServer:
    """A tiny HTTP server on its own thread; `start()` binds, `stop()` shuts it down."""

    def __init__(self, state: HealthState, *, address: str, port: int) -> None:
        self.state = state
        self._server = ThreadingHTTPServer((address, port), _handler(state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="health-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def _handler(state: HealthState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            checks = {"/healthz": state.live, "/readyz": state.ready}
            check = checks.get(self.path.split("?", 1)[0])
            if check is None:
                self._reply(404, "not found")
                return
            ok, reason = check()
            self._reply(200 if ok else 503, reason)

        def _reply(self, code: int, text: str) -> None:
            body = (text + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds are not worth a log line."""

    return Handler
