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

from canary.sandbox.httpthread import LoopbackHTTPServer, QuietHandler
from canary.sandbox.processes import LOOPBACK

# Not forwarded: hop-by-hop headers, and Accept-Encoding (the upstream answers uncompressed,
# so the body can be relayed as it is).
_NOT_FORWARDED = {
    "connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding",
}


class FaultProxy(LoopbackHTTPServer):
    """`with FaultProxy(upstream) as proxy:` then point the client at `proxy.url`; call
    `fail(status)` to answer errors, `forward()` to pass requests through again."""

    name = "fault proxy"

    def __init__(self, upstream: str, *, timeout: float = 30) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.error_status: int | None = None
        self.answered: Counter[str] = Counter()  # "forwarded" / "failed" / "upstream-error"
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def fail(self, status: int = 500) -> None:
        """Answer every request with `status` and a Prometheus-style error body."""
        self.error_status = status

    def forward(self) -> None:
        self.error_status = None

    def _count(self, what: str) -> None:
        with self._lock:
            self.answered[what] += 1

    def handler(self) -> type[QuietHandler]:
        proxy = self

        class Handler(QuietHandler):
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
                    self.reply(status, json.dumps(payload).encode(), "application/json")
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, method=self.command
                )
                for key, value in self.headers.items():
                    if key.lower() not in _NOT_FORWARDED:
                        request.add_header(key, value)
                try:
                    with urllib.request.urlopen(request, timeout=proxy.timeout) as answer:
                        proxy._count("forwarded")
                        kind = answer.headers.get("Content-Type", "application/octet-stream")
                        self.reply(answer.status, answer.read(), kind)
                except urllib.error.HTTPError as exc:
                    with exc:
                        proxy._count("forwarded")
                        kind = exc.headers.get("Content-Type", "text/plain")
                        self.reply(exc.code, exc.read(), kind)
                except OSError as exc:
                    proxy._count("upstream-error")
                    self.reply(502, f"upstream unreachable: {exc}".encode(), "text/plain")

            do_GET = do_POST = _handle

        return Handler
