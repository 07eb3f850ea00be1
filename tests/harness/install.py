"""Helpers for the install tests: render the chart with the real helm, pick manifests out of it,
authenticate as the chart's ServiceAccount, and run `canary operator` with the exact arguments
of the chart's Deployment as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from canary.kube.resources import CANARY, JsonObj, Resource
from canary.sandbox.helm import ensure_helm
from canary.sandbox.processes import LOOPBACK, Child, free_port
from harness.app import Tenant
from harness.manifests import canary_manifest, gate
from harness.operators import Operators, json_lines

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "canary-operator"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


def helm(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the real helm with its state under `home` (never the user's ~/.config/helm)."""
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    return subprocess.run(
        [str(ensure_helm()), *args], capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )


def set_args(values: dict[str, Any]) -> list[str]:
    """`--set-json key=value` for each dotted key: exact types, no string guessing."""
    return [arg for key, value in values.items()
            for arg in ("--set-json", f"{key}={json.dumps(value)}")]


def render(release: str, namespace: str, values: dict[str, Any], *, home: Path,
           include_crds: bool = False) -> list[JsonObj]:
    args = ["template", release, str(CHART), "--namespace", namespace, *set_args(values)]
    if include_crds:
        args.append("--include-crds")
    proc = helm(*args, home=home)
    if proc.returncode != 0:
        raise AssertionError(f"helm template failed: {proc.stderr}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def pick(docs: list[JsonObj], kind: str, name: str | None = None) -> list[JsonObj]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[JsonObj], kind: str, name: str | None = None) -> JsonObj:
    found = pick(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def as_yaml(docs: list[JsonObj]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def container_args(docs: list[JsonObj]) -> list[str]:
    deployment = one(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def sa_kubeconfig(admin_kubeconfig: Path, token: str, path: Path) -> Path:
    """The admin kubeconfig's cluster with the ServiceAccount's token as the only credential."""
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": "operator-sa", "user": {"token": token}}],
        "contexts": [{"name": "operator-sa", "context": {
            "cluster": admin["clusters"][0]["name"], "user": "operator-sa"}}],
        "current-context": "operator-sa",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Operator:
    """One replica: `canary operator` with the chart's arguments, on loopback ports."""

    name: str
    child: Child
    metrics_port: int
    health_port: int

    def lines(self) -> list[JsonObj]:
        return json_lines(self.child.log_path)

    def tail(self) -> str:
        """The log tail, for an `eventually` that timed out (`detail=operator.tail`)."""
        return f"{self.name} log:\n{self.child.log_tail()}"

    def identity(self) -> str | None:
        for line in self.lines():
            if line.get("event") == "became leader":
                return str(line["identity"])
        return None

    def get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=3) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def readyz(self) -> tuple[int, str]:
        return self.get(self.health_port, "/readyz")

    def metrics(self) -> str:
        return self.get(self.metrics_port, "/metrics")[1]

    def kill(self) -> float:
        """SIGKILL, like a node failure; returns the monotonic time of death."""
        self.child.process.kill()
        self.child.process.wait()
        return time.monotonic()


@dataclass
class Replicas:
    """Operator processes started from the same rendered arguments, each on free loopback ports
    (later flags win: the chart's arguments are kept, the ports moved)."""

    args: list[str]
    kubeconfig: Path
    namespace: str
    log_dir: Path
    started: list[Operator] = field(default_factory=list)

    def __post_init__(self) -> None:
        env = {"KUBECONFIG": str(self.kubeconfig), "POD_NAMESPACE": self.namespace}
        self.processes = Operators(self.kubeconfig, [self.namespace], "", self.log_dir,
                                   env=env, command=self.args)

    def start(self) -> Operator:
        metrics_port, health_port = free_port(), free_port()
        child = self.processes.start(f"--listen-address={LOOPBACK}",
                                     f"--metrics-port={metrics_port}",
                                     f"--health-port={health_port}")
        operator = Operator(child.name, child, metrics_port, health_port)
        self.started.append(operator)
        return operator

    def stop(self) -> None:
        self.processes.stop()

    def reconciled(self) -> list[JsonObj]:
        """Every canonical `reconciled` line of every replica, in time order."""
        lines = self.processes.reconciled()
        return sorted(lines, key=lambda line: str(line.get("timestamp", "")))


@dataclass
class App(Tenant):
    """One test's application: Gateway `gw`, Services v1/v2, HTTPRoute `api-route`."""

    GAUGE_PREFIX: ClassVar[str] = "canary_install_success_"

    async def create_canary(self, name: str = "api", *, labels: dict[str, str] | None = None,
                            weights: tuple[int, ...] = (5, 25, 50, 75),
                            interval: str = "1s") -> None:
        analysis = gate(self.gauge + '{service="{{ canary_service }}"}')
        await self.kube.create(CANARY, canary_manifest(
            self.namespace, name=name, labels=labels, weights=weights, interval=interval,
            analysis=analysis,
        ), self.namespace)

    async def status(self, name: str = "api") -> JsonObj:
        return (await self.kube.get(CANARY, name, self.namespace)).get("status") or {}


@dataclass
class Installed:
    """The chart's RBAC on the server and everything needed to act as its ServiceAccount."""

    release: str
    namespace: str
    docs: list[JsonObj]
    args: list[str]
    kubeconfig: Path
    token: str


SELF_SUBJECT_REVIEW = Resource(
    "authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False
)
