"""A tiny HTTP service standing in for one version of an application in the sandbox.

Every answer names its version (header `x-demo-version` and JSON body). Error rate and latency
are set at start and changed while it runs (`PUT /-/faults`); `/metrics` serves Prometheus
text. It binds to loopback, or to the address given with `--host` (the node agent passes a pod
address in the sandbox's network namespace), and is never meant to serve anything real.
aiohttp sets TCP_NODELAY on every connection, so it serves well over 100 requests a second.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Self

import aiohttp
from aiohttp import web

from canary.sandbox.processes import LOOPBACK, free_port
from canary.sandbox.service import ServerProcess

VERSION_HEADER = "x-demo-version"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Faults:
    """Injected behaviour: the share of requests answered 500, and a delay before answering."""

    error_rate: float = 0.0
    latency: float = 0.0  # seconds

    def validated(self) -> Faults:
        if not 0.0 <= self.error_rate <= 1.0 or self.latency < 0:
            raise ValueError("error_rate must be within [0, 1] and latency >= 0")
        return self


class _Metrics:
    def __init__(self, version: str) -> None:
        self.version = version
        self.codes: Counter[int] = Counter({200: 0, 500: 0})  # series exist before traffic
        self.buckets = [0] * len(BUCKETS)
        self.sum, self.count = 0.0, 0

    def observe(self, code: int, seconds: float) -> None:
        self.codes[code] += 1
        self.sum += seconds
        self.count += 1
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1

    def render(self, faults: Faults) -> str:
        v = f'version="{self.version}"'
        lines = [
            "# HELP http_requests_total Requests served, by status code.",
            "# TYPE http_requests_total counter",
            *(f'http_requests_total{{{v},code="{c}"}} {n}' for c, n in sorted(self.codes.items())),
            "# HELP http_request_duration_seconds Time to answer a request.",
            "# TYPE http_request_duration_seconds histogram",
            *(
                f'http_request_duration_seconds_bucket{{{v},le="{b}"}} {n}'
                for b, n in zip(BUCKETS, self.buckets, strict=True)
            ),
            f'http_request_duration_seconds_bucket{{{v},le="+Inf"}} {self.count}',
            f"http_request_duration_seconds_sum{{{v}}} {self.sum}",
            f"http_request_duration_seconds_count{{{v}}} {self.count}",
            "# HELP demo_error_rate Injected share of 500 answers.",
            "# TYPE demo_error_rate gauge",
            f"demo_error_rate{{{v}}} {faults.error_rate}",
            "# HELP demo_latency_seconds Injected delay before answering.",
            "# TYPE demo_latency_seconds gauge",
            f"demo_latency_seconds{{{v}}} {faults.latency}",
        ]
        return "\n".join(lines) + "\n"


def make_app(version: str, faults: Faults, *, seed: int | None = None) -> web.Application:
    """The demo service: `/-/faults`, `/-/healthz` and `/metrics`; every other path is traffic."""
    metrics, rng = _Metrics(version), random.Random(seed)

    async def serve(request: web.Request) -> web.Response:
        started = time.perf_counter()
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        code = 500 if rng.random() < faults.error_rate else 200
        body = {"version": version, "path": request.path, "headers": dict(request.headers)}
        metrics.observe(code, time.perf_counter() - started)
        return web.json_response(body, status=code, headers={VERSION_HEADER: version})

    async def get_faults(_: web.Request) -> web.Response:
        return web.json_response(asdict(faults))

    async def put_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            new = Faults(
                float(body.get("error_rate", faults.error_rate)),
                float(body.get("latency", faults.latency)),
            ).validated()
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        faults.error_rate, faults.latency = new.error_rate, new.latency
        return web.json_response(asdict(faults))

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok", headers={VERSION_HEADER: version})

    async def render_metrics(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(faults), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/-/faults", get_faults)
    app.router.add_put("/-/faults", put_faults)
    app.router.add_get("/-/healthz", healthz)
    app.router.add_get("/metrics", render_metrics)
    app.router.add_route("*", "/{tail:.*}", serve)
    return app


class DemoApp(ServerProcess):
    """One demo service in its own process: `async with DemoApp("v2", error_rate=0.1) as app:`."""

    def __init__(
        self,
        version: str,
        *,
        error_rate: float = 0.0,
        latency: float = 0.0,
        port: int | None = None,
        log_dir: Path | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(log_dir, prefix="canary-demoapp-")
        self.version = version
        self.initial = Faults(error_rate, latency).validated()
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._seed = seed

    @property
    def log_dir(self) -> Path:
        return self.workdir

    async def start(self) -> Self:
        cmd = [sys.executable, "-m", "canary.sandbox.demoapp", "--version", self.version]
        cmd += ["--port", str(self.port), "--error-rate", str(self.initial.error_rate)]
        cmd += ["--latency", str(self.initial.latency)]
        cmd += ["--seed", str(self._seed)] if self._seed is not None else []
        name = f"demoapp-{self.version}"
        await self._spawn(name, cmd, self._healthy, log_path=self.log_dir / f"{name}.log")
        return self

    async def _healthy(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(f"{self.url}/-/healthz") as response:
            return response.status == 200

    async def set_faults(
        self, *, error_rate: float | None = None, latency: float | None = None
    ) -> Faults:
        """Change the injected faults of the running process; returns what it now applies."""
        body = {
            k: v for k, v in (("error_rate", error_rate), ("latency", latency)) if v is not None
        }
        return await self._faults("PUT", body)

    async def faults(self) -> Faults:
        return await self._faults("GET", None)

    async def _faults(self, method: str, body: dict[str, float] | None) -> Faults:
        if self._session is None:
            raise RuntimeError(f"demo app {self.version} is not running")
        async with self._session.request(method, f"{self.url}/-/faults", json=body) as response:
            answer = await response.json()
            if response.status != 200:
                raise ValueError(str(answer.get("error")))
        return Faults(float(answer["error_rate"]), float(answer["latency"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True, help="the version this instance names")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    faults = Faults(args.error_rate, args.latency).validated()
    app = make_app(args.version, faults, seed=args.seed)
    # A short shutdown: idle keep-alive connections from Envoy must not hold up a stop.
    web.run_app(
        app, host=args.host, port=args.port, print=None, access_log=None, shutdown_timeout=1.0
    )


if __name__ == "__main__":
    main()
