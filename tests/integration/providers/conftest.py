"""Fixtures for the metric provider tests: a real Prometheus scraping an exporter we control.

One Prometheus and one exporter serve the whole session (tests/harness/fixtures.py); tests keep
apart by using series names of their own. Loopback stand-ins (a hanging server, a bearer-token
gate) sit next to the real server to create conditions Prometheus cannot; they never replace it.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from harness import waiting

from canary.core.observations import MetricSample
from canary.providers.base import MetricProvider, PrometheusEndpoint
from canary.providers.prometheus import PrometheusProvider
from canary.sandbox.controlplane import certs
from canary.sandbox.processes import LOOPBACK
from canary.sandbox.prometheus import BasicAuthUser, PrometheusServer, ServerTls

# bcrypt (cost 4) of "canary-test-password", made once with crypt(3); Prometheus keeps only this.
TEST_USER = BasicAuthUser(
    "canary", "canary-test-password", "$2b$04$b5fzMnt67uFoDaxTNd.xnesktSnVMO3Pr.7vhbgCEjxM8dHp.2UDC"
)


@pytest.fixture
async def provider(prometheus: PrometheusServer) -> AsyncIterator[PrometheusProvider]:
    async with PrometheusProvider(PrometheusEndpoint(prometheus.url, timeout=5)) as running:
        yield running


@pytest.fixture
def unique() -> str:
    """A name no other test uses, valid as a Kubernetes name."""
    return f"t{uuid.uuid4().hex[:8]}"


Eventually = Callable[..., Awaitable[MetricSample]]


@pytest.fixture
def eventually() -> Eventually:
    """`await eventually(provider, query, check, within=60)`: poll until `check(sample)`."""
    return _eventually


async def _eventually(
    provider: MetricProvider,
    query: str,
    check: Callable[[MetricSample], bool],
    *,
    within: float = 60,
) -> MetricSample:
    # Prometheus needs a few scrapes before a rate exists; fail with the last sample seen.
    seen: list[MetricSample] = []

    async def matching() -> MetricSample | None:
        seen.append(await provider.query("probe", query))
        return seen[-1] if check(seen[-1]) else None

    return await waiting.eventually(
        matching, within=within, every=0.25, what="a matching sample",
        detail=lambda: f"last sample: {seen[-1] if seen else None}",
    )


# -- a Prometheus with TLS and basic auth, configured through its own web config -------------
@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.CertPaths:
    return certs.generate(tmp_path_factory.mktemp("prometheus-pki"))


@pytest.fixture(scope="session")
def secured_prometheus(pki: certs.CertPaths) -> Iterator[PrometheusServer]:
    tls = ServerTls(cert_file=pki.serving_cert, key_file=pki.serving_key, ca_file=pki.ca_cert)
    with PrometheusServer(tls=tls, basic_auth=TEST_USER) as server:
        yield server


# -- loopback stand-ins ---------------------------------------------------------------------
class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up before a stalled answer is the point of these stubs


class _Stub:
    """A threaded loopback HTTP server around `handler`; records request headers."""

    def __init__(self, handler: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.release = threading.Event()
        self.token = ""
        self.seen_authorization: list[str | None] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.seen_authorization.append(self.headers.get("Authorization"))
                handler(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer((LOOPBACK, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _reply(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@pytest.fixture
def hanging_server() -> Iterator[_Stub]:
    """Accepts queries and answers none of them until the test ends."""
    holder: list[_Stub] = []

    def hang(request: BaseHTTPRequestHandler) -> None:
        holder[0].release.wait(timeout=60)
        _reply(request, 503, b"too late")

    stub = _Stub(hang)
    holder.append(stub)
    yield stub
    stub.close()


BEARER_TOKEN = "t0ken.for-tests"


@pytest.fixture
def bearer_gate(prometheus: PrometheusServer) -> Iterator[_Stub]:
    """Forwards to the real Prometheus only with `Authorization: Bearer BEARER_TOKEN`."""

    def gate(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("Authorization") != f"Bearer {BEARER_TOKEN}":
            _reply(request, 401, b"Unauthorized\n")
            return
        try:
            with urllib.request.urlopen(prometheus.url + request.path, timeout=10) as answer:
                _reply(request, answer.status, answer.read())
        except urllib.error.HTTPError as error:
            with error:
                _reply(request, error.code, error.read())

    stub = _Stub(gate)
    stub.token = BEARER_TOKEN
    yield stub
    stub.close()
