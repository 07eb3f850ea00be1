"""A loopback HTTP server answering from a background thread, so it keeps answering while the
caller's event loop is busy: the base of the sandbox's exporter and fault proxy.

Binds to 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from canary.sandbox.processes import LOOPBACK
from canary.sandbox.service import Service


class LoopbackHTTPServer(Service):
    """Serves `handler()` on 127.0.0.1 from a daemon thread between `start()` and `stop()`
    (or within `with`). Subclasses say how to answer: `handler()` returns the request handler
    class, usually one defined on the spot that reads the subclass's state."""

    name = "loopback HTTP server"
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} not started")
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self.handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing (tests own stderr) and replies in one call."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
