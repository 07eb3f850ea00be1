"""Readiness probes as the kubelet runs them: `httpGet` against the pod address, with the
Pod's period, timeout and thresholds. Other probe kinds (exec, tcpSocket, grpc) are not run:
a container with one counts as ready once it runs (see docs/sandbox-node-agent.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from canary.kube.resources import JsonObj

# The kubelet's defaults.
PERIOD_SECONDS = 10
TIMEOUT_SECONDS = 1
FAILURE_THRESHOLD = 3
SUCCESS_THRESHOLD = 1


@dataclass(frozen=True)
class HttpProbe:
    path: str
    port: int
    period: float = PERIOD_SECONDS
    timeout: float = TIMEOUT_SECONDS
    initial_delay: float = 0
    failure_threshold: int = FAILURE_THRESHOLD
    success_threshold: int = SUCCESS_THRESHOLD

    @classmethod
    def from_spec(cls, probe: JsonObj | None, ports: Mapping[str, int]) -> HttpProbe | None:
        """The probe of a container spec (`ports`: its named ports); None if it has no
        `httpGet` probe. Raises ValueError for a port name the container does not declare."""
        if not probe or "httpGet" not in probe:
            return None
        get = probe["httpGet"]
        port = get.get("port")
        if isinstance(port, str) and not port.isdigit():
            if port not in ports:
                raise ValueError(f"readiness probe names unknown port {port!r}")
            port = ports[port]
        return cls(
            path=str(get.get("path", "/")),
            port=int(port),
            period=float(probe.get("periodSeconds", PERIOD_SECONDS)),
            timeout=float(probe.get("timeoutSeconds", TIMEOUT_SECONDS)),
            initial_delay=float(probe.get("initialDelaySeconds", 0)),
            failure_threshold=int(probe.get("failureThreshold", FAILURE_THRESHOLD)),
            success_threshold=int(probe.get("successThreshold", SUCCESS_THRESHOLD)),
        )

    async def check(self, session: aiohttp.ClientSession, host: str) -> bool:
        """One probe: any answer from 200 to 399 within the timeout passes."""
        url = f"http://{host}:{self.port}{self.path}"
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with session.get(url, timeout=timeout, allow_redirects=False) as response:
                return 200 <= response.status < 400
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False


@dataclass
class Readiness:
    """The ready flag of one container, moved by probe results past the thresholds. A
    container without a probe is ready whenever it runs."""

    probe: HttpProbe | None
    ready: bool = False
    _successes: int = 0
    _failures: int = 0

    def record(self, ok: bool) -> bool:
        """Count one probe result; return whether `ready` changed."""
        assert self.probe is not None
        if ok:
            self._successes, self._failures = self._successes + 1, 0
            flip = not self.ready and self._successes >= self.probe.success_threshold
        else:
            self._successes, self._failures = 0, self._failures + 1
            flip = self.ready and self._failures >= self.probe.failure_threshold
        if flip:
            self.ready = not self.ready
        return flip

    def reset(self) -> None:
        """A new run of the container starts unready (or ready at once without a probe)."""
        self.ready = self.probe is None
        self._successes = self._failures = 0
