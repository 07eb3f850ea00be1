"""Build (once) and cache the control-plane binaries: kube-apiserver and etcd from Go modules.

No registry ships kube-apiserver, so we compile it from the `k8s.io/kubernetes` module through a
tiny wrapper module. Binaries are cached outside the repository, keyed by version; a warm
machine never rebuilds. This module must not start anything: see `launcher.py` for that.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from canary.sandbox.controlplane import versions

CACHE_ENV = "CANARY_CACHE_DIR"

_STAGING_RE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/src/", re.MULTILINE)


class BuildError(RuntimeError):
    """A binary could not be built or fetched; the message says which command failed."""


def cache_dir() -> Path:
    """Root of the binary cache: `$CANARY_CACHE_DIR`, else `~/.cache/canary-operator`."""
    root = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache" / "canary-operator")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(message: str) -> None:
    """A progress line on stderr (builds take minutes on a cold machine)."""
    print(f"[canary-sandbox] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Serialise builds of the same artefact across processes (tests, demo, CI)."""
    lock_path = cache_dir() / f".{name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def go_module_dir(module: str, version: str) -> Path:
    """Download a Go module (through the module proxy) and return its extracted directory."""
    out = run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=cache_dir())
    info = json.loads(out)
    if "Error" in info:
        raise BuildError(f"go mod download {module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The staging modules a `k8s.io/kubernetes` go.mod replaces with local paths."""
    return sorted(set(_STAGING_RE.findall(kubernetes_go_mod)))


def wrapper_go_mod(kubernetes_version: str, staging: list[str]) -> str:
    """go.mod of the wrapper that pins every staging module to its published `v0.X.Y` tag."""
    staging_version = "v0" + kubernetes_version[2:]
    replaces = "\n".join(f"\t{mod} => {mod} {staging_version}" for mod in staging)
    return (
        "module canary.local/kubeapiserver\n\ngo 1.26.0\n\n"
        f"require k8s.io/kubernetes {kubernetes_version}\n\nreplace (\n{replaces}\n)\n"
    )


def _version_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    stamps = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
    }
    flags = [
        f"-X {pkg}.{key}={value}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in stamps.items()
    ]
    return "-s -w " + " ".join(flags)


def build_into(binary: Path, *, work: Path, package: str, ldflags: str, tags: str = "") -> None:
    """Tidy the wrapper module in `work`, then build `package` into `binary` (atomically)."""
    tmp = binary.with_suffix(".tmp")
    run(["go", "mod", "tidy"], cwd=work)
    cmd = ["go", "build", "-trimpath", "-o", str(tmp), "-ldflags", ldflags]
    if tags:
        cmd += ["-tags", tags]
    run([*cmd, package], cwd=work)
    tmp.rename(binary)


def cached_binary(name: str, version: str) -> Path:
    """Where the cache keeps binary `name` of `version` (it may not exist yet)."""
    return cache_dir() / "bin" / f"{name}-{version}" / name


def ensure_built(
    name: str, version: str, origin: str, build: Callable[[Path, Path], None]
) -> Path:
    """The cached binary `name` of `version`. On first use, under a lock shared by every
    process, `build(binary, work)` makes it in a fresh work directory; `origin` says from what
    (for the progress lines)."""
    binary = cached_binary(name, version)
    with locked(f"{name}-{version}"):
        if not binary.exists():
            binary.parent.mkdir(parents=True, exist_ok=True)
            work = cache_dir() / "build" / f"{name}-{version}"
            work.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            say(f"building {name} {version} from {origin}")
            build(binary, work)
            say(f"built {binary} in {time.monotonic() - started:.0f}s")
    return binary


def ensure_kube_apiserver(version: str = versions.KUBERNETES_VERSION) -> Path:
    """Path to a kube-apiserver binary of `version`, building it on first use."""

    def build(binary: Path, work: Path) -> None:
        source = go_module_dir("k8s.io/kubernetes", version)
        staging = staging_modules((source / "go.mod").read_text())
        if not staging:
            raise BuildError(f"no staging replaces found in k8s.io/kubernetes@{version} go.mod")
        (work / "go.mod").write_text(wrapper_go_mod(version, staging))
        (work / "tools.go").write_text(
            '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n'
        )
        build_into(
            binary,
            work=work,
            package="k8s.io/kubernetes/cmd/kube-apiserver",
            ldflags=_version_ldflags(version),
            tags="selinux,notest,grpcnotrace",
        )

    origin = "k8s.io/kubernetes (first run only, ~5 min)"
    return ensure_built("kube-apiserver", version, origin, build)


def ensure_etcd(version: str = versions.ETCD_VERSION) -> Path:
    """Path to an etcd binary of `version` (a wrapper main around etcdmain), built on first use."""

    def build(binary: Path, work: Path) -> None:
        (work / "go.mod").write_text(
            "module canary.local/etcd\n\ngo 1.26.0\n\n"
            f"require go.etcd.io/etcd/server/v3 {version}\n"
        )
        (work / "main.go").write_text(
            'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
            "func main() { etcdmain.Main(os.Args) }\n"
        )
        build_into(binary, work=work, package=".", ldflags="-s -w")

    return ensure_built("etcd", version, "go.etcd.io/etcd/server/v3 (first run only)", build)


def gateway_api_crds(version: str = versions.GATEWAY_API_VERSION) -> list[Path]:
    """The standard-channel CRD manifests of the pinned `sigs.k8s.io/gateway-api` module."""
    with locked(f"gateway-api-{version}"):
        source = go_module_dir("sigs.k8s.io/gateway-api", version)
    crd_dir = source / "config" / "crd" / "standard"
    # Only the CRDs: the directory also holds a ValidatingAdmissionPolicy for upgrades.
    files = [
        f for f in sorted(crd_dir.glob("gateway.networking.k8s.io_*.yaml")) if "_vap_" not in f.name
    ]
    if not files:
        raise BuildError(f"no CRDs in {crd_dir}")
    return files


def ensure_prometheus(deb_version: str = versions.PROMETHEUS_DEB_VERSION) -> Path:
    """A Prometheus binary extracted from Debian's package (never installed as a service)."""
    binary = cached_binary("prometheus", deb_version.replace("+", "_").replace("~", "_"))
    with locked("prometheus"):
        if binary.exists():
            return binary
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise BuildError("prometheus needs Debian's apt-get and dpkg-deb to fetch its package")
        work = cache_dir() / "build" / "prometheus"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        say(f"fetching Debian package prometheus={deb_version}")
        run(["apt-get", "download", f"prometheus={deb_version}"], cwd=work)
        debs = list(work.glob("prometheus_*.deb"))
        if not debs:
            raise BuildError("apt-get download produced no prometheus .deb")
        run(["dpkg-deb", "-x", str(debs[0]), str(work / "root")])
        extracted = work / "root" / "usr" / "bin" / "prometheus"
        binary.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(extracted, binary)
        return binary


def main() -> None:
    """`python -m canary.sandbox.controlplane.build`: build everything and print the paths."""
    for path in (ensure_etcd(), ensure_kube_apiserver(), ensure_prometheus()):
        print(path)


if __name__ == "__main__":
    main()
