"""A loopback HTTP proxy in front of one upstream (e.g. the sandbox Prometheus) that can be told
to fail: forward everything, or answer every request with an HTTP error. For fault tests.

Binds to 127.0.0.1 only; runs in a background thread, so it keeps answering while the caller's
event loop is busy. It knows nothing about what it proxies.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from canary.sandbox.processes import LOOPBACK

# Not forwarded: hop-by-hop headers, and Accept-Encoding (the upstream answers uncompressed,
# so the body can be relayed as it is).
_NOT_FORWARDED = {
    "connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding",
}


class FaultProxy:
    """`with FaultProxy(upstream) as proxy:` then point the client at `proxy.url`; call
    `fail(status)` to answer errors, `forward()` to pass requests through again."""

    def __init__(self, upstream: str, *, timeout: float = 30) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.error_status: int | None = None
        self.answered: Counter[str] = Counter()  # "forwarded" / "failed" / "upstream-error"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("fault proxy not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def fail(self, status: int = 500) -> None:
        """Answer every request with `status` and a Prometheus-style error body."""
        self.error_status = status

    def forward(self) -> None:
        self.error_status = None

    def _count(self, what: str) -> None:
        with self._lock:
            self.answered[what] += 1

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status = proxy.error_status
                if status is not None:
                    proxy._count("failed")
                    payload = {
                        "status": "error",
                        "errorType": "internal",
                        "error": f"injected by the fault proxy (HTTP {status})",
                    }
                    self._reply(status, json.dumps(payload).encode(), "application/json")
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, method=self.command
                )
                for key, value in self.headers.items():
                    if key.lower() not in _NOT_FORWARDED:
                        request.add_header(key, value)
                try:
                    with urllib.request.urlopen(request, timeout=proxy.timeout) as reply:
                        proxy._count("forwarded")
                        kind = reply.headers.get("Content-Type", "application/octet-stream")
                        self._reply(reply.status, reply.read(), kind)
                except urllib.error.HTTPError as exc:
                    with exc:
                        proxy._count("forwarded")
                        kind = exc.headers.get("Content-Type", "text/plain")
                        self._reply(exc.code, exc.read(), kind)
                except OSError as exc:
                    proxy._count("upstream-error")
                    self._reply(502, f"upstream unreachable: {exc}".encode(), "text/plain")

            def _reply(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
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

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
