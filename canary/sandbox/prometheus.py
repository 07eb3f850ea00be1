"""Run a real Prometheus server on loopback for tests and the demo, and stop it cleanly.

It gets its own config file and data directory, scrapes the targets it is given, and may serve
TLS and basic auth through Prometheus' own web config. It never queries metrics for the
operator: that is `canary.providers`' job.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from canary.sandbox.controlplane import build
from canary.sandbox.processes import LOOPBACK, Child, free_port, wait_until
from canary.sandbox.service import Service


@dataclass(frozen=True)
class ScrapeTarget:
    """One `host:port` to scrape, with optional extra target labels."""

    address: str
    job: str = "sandbox"
    metrics_path: str = "/metrics"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerTls:
    """Serve https with this key pair; `ca_file` is what clients must trust."""

    cert_file: Path
    key_file: Path
    ca_file: Path


@dataclass(frozen=True)
class BasicAuthUser:
    """A user Prometheus accepts. It stores only the bcrypt hash; we keep the password to probe."""

    username: str
    password: str = field(repr=False)
    bcrypt_hash: str = field(repr=False)


class PrometheusServer(Service):
    """One Prometheus process; use as a context manager or call `start()` and `stop()`."""

    def __init__(
        self,
        targets: Sequence[ScrapeTarget] = (),
        *,
        scrape_interval: str = "1s",
        workdir: Path | None = None,
        tls: ServerTls | None = None,
        basic_auth: BasicAuthUser | None = None,
    ) -> None:
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.tls = tls
        self.basic_auth = basic_auth
        self.port = 0
        self._workdir = workdir
        self._owns_workdir = False
        self._child: Child | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        if self._child is None:
            raise RuntimeError("Prometheus not started")
        return self._child.pid

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("Prometheus not started")
        return self._workdir

    def start(self, *, timeout: float = 60) -> Self:
        """Start and wait until `/-/ready`; the first scrape lands a few seconds later."""
        binary = build.ensure_prometheus()
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="canary-prometheus-"))
            self._owns_workdir = True
        self.port = self.port or free_port()  # a restart keeps its port
        args = [
            str(binary),
            f"--config.file={self._write_config()}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1d",
        ]
        if self.tls or self.basic_auth:
            args.append(f"--web.config.file={self._write_web_config()}")
        try:
            self._child = Child("prometheus", args, log_path=self.workdir / "prometheus.log")
            wait_until(
                lambda: self._request("/-/ready")[0] == 200,
                timeout=timeout,
                what="prometheus /-/ready",
                child=self._child,
                interval=0.2,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop_process(self) -> None:
        """Stop the server (SIGTERM) but keep its port, config and data: Prometheus is down
        until `restart()`. For fault tests: every query meanwhile is refused."""
        if self._child is None:
            raise RuntimeError("Prometheus is not running")
        self._child.stop()
        self._child = None

    def restart(self, *, timeout: float = 60) -> PrometheusServer:
        """Start again after `stop_process()`, on the same port, with the same data."""
        if self._child is not None:
            raise RuntimeError("Prometheus is already running")
        return self.start(timeout=timeout)

    def set_targets(self, targets: Sequence[ScrapeTarget]) -> None:
        """Replace the scrape targets and hot-reload the config (no restart, data kept)."""
        self.targets = list(targets)
        self._write_config()
        status, _ = self._request("/-/reload", method="POST")
        if status != 200:
            raise RuntimeError(f"prometheus config reload answered HTTP {status}")

    def wait_until_scraped(self, *, timeout: float = 60) -> None:
        """Block until every target has been scraped successfully at least once."""
        if not self.targets:
            return

        def all_up() -> bool:
            _, body = self._request("/api/v1/query?query=sum(up)")
            result = json.loads(body)["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) >= len(self.targets)

        wait_until(
            all_up,
            timeout=timeout,
            what="first successful scrape of every target",
            child=self._child,
            interval=0.2,
        )

    def log_tail(self, lines: int = 40) -> str:
        return self._child.log_tail(lines) if self._child else ""

    def stop(self) -> None:
        """SIGTERM (then SIGKILL); remove the work directory if we created it."""
        if self._child is not None:
            self._child.stop()
            self._child = None
        if self._owns_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir, self._owns_workdir = None, False

    def _write_config(self) -> Path:
        jobs: dict[str, list[ScrapeTarget]] = {}
        for target in self.targets:
            jobs.setdefault(target.job, []).append(target)
        if any(len({t.metrics_path for t in group}) > 1 for group in jobs.values()):
            raise ValueError("targets of one job must share a metrics_path; use another job")
        scrape_configs = [
            {
                "job_name": job,
                "metrics_path": group[0].metrics_path,
                "honor_labels": True,
                "static_configs": [
                    {"targets": [t.address], "labels": dict(t.labels)} for t in group
                ],
            }
            for job, group in jobs.items()
        ]
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "scrape_configs": scrape_configs,
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def _write_web_config(self) -> Path:
        web: dict[str, Any] = {}
        if self.tls:
            web["tls_server_config"] = {
                "cert_file": str(self.tls.cert_file),
                "key_file": str(self.tls.key_file),
            }
        if self.basic_auth:
            web["basic_auth_users"] = {self.basic_auth.username: self.basic_auth.bcrypt_hash}
        path = self.workdir / "web.yml"
        path.write_text(json.dumps(web, indent=2))
        return path

    def _request(self, path: str, *, method: str = "GET") -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, method=method)
        if self.basic_auth:
            pair = f"{self.basic_auth.username}:{self.basic_auth.password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        context = ssl.create_default_context(cafile=str(self.tls.ca_file)) if self.tls else None
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            status: int = response.status
            return status, response.read()
