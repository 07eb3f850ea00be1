"""Build (once) and cache the sandbox's binaries from Go modules: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, and the Contour gateway controller (with its CRDs).

No registry ships kube-apiserver, so we compile it from the `k8s.io/kubernetes` module through a
tiny wrapper module; the controller-manager and the scheduler come from the same release through
the same kind of wrapper, in one `go build`. Binaries are cached outside the repository, keyed by
version; a warm machine never rebuilds. This module must not start anything: see `launcher.py`
and `canary.sandbox.contour` for that.
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
        said = (proc.stderr or proc.stdout)[-4000:]  # `go mod download -json` errs on stdout
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{said}")
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


def go_build_command(
    output: Path, packages: list[str], *, ldflags: str, tags: str = ""
) -> list[str]:
    """`go build` of `packages` into `output` (a file for one package, a directory for more)."""
    cmd = ["go", "build", "-trimpath", "-o", str(output), "-ldflags", ldflags]
    if tags:
        cmd += ["-tags", tags]
    return [*cmd, *packages]


def build_into(binary: Path, *, work: Path, package: str, ldflags: str, tags: str = "") -> None:
    """Tidy the wrapper module in `work`, then build `package` into `binary` (atomically)."""
    tmp = binary.with_suffix(".tmp")
    run(["go", "mod", "tidy"], cwd=work)
    run(go_build_command(tmp, [package], ldflags=ldflags, tags=tags), cwd=work)
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


KUBERNETES_TAGS = "selinux,notest,grpcnotrace"
KUBE_CONTROLLERS = ("kube-controller-manager", "kube-scheduler")


def tools_go(packages: list[str]) -> str:
    """A `tools`-tagged file importing `packages`, so `go mod tidy` keeps what they need."""
    imports = "".join(f'\t_ "{package}"\n' for package in packages)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"


def write_kubernetes_wrapper(work: Path, version: str, packages: list[str]) -> None:
    """The wrapper module in `work` that builds `packages` of `k8s.io/kubernetes@version`."""
    source = go_module_dir("k8s.io/kubernetes", version)
    staging = staging_modules((source / "go.mod").read_text())
    if not staging:
        raise BuildError(f"no staging replaces found in k8s.io/kubernetes@{version} go.mod")
    (work / "go.mod").write_text(wrapper_go_mod(version, staging))
    (work / "tools.go").write_text(tools_go(packages))


def ensure_kube_apiserver(version: str = versions.KUBERNETES_VERSION) -> Path:
    """Path to a kube-apiserver binary of `version`, building it on first use."""

    def build(binary: Path, work: Path) -> None:
        package = "k8s.io/kubernetes/cmd/kube-apiserver"
        write_kubernetes_wrapper(work, version, [package])
        build_into(
            binary,
            work=work,
            package=package,
            ldflags=_version_ldflags(version),
            tags=KUBERNETES_TAGS,
        )

    origin = "k8s.io/kubernetes (first run only, ~5 min)"
    return ensure_built("kube-apiserver", version, origin, build)


def ensure_kube_controllers(version: str = versions.KUBERNETES_VERSION) -> dict[str, Path]:
    """kube-controller-manager and kube-scheduler of `version` (the API server's release), by
    name. Built together on first use: one wrapper module, one `go build` of both packages,
    which shares most of its work with (and reuses the Go build cache of) kube-apiserver's."""
    binaries = {name: cached_binary(name, version) for name in KUBE_CONTROLLERS}
    key = f"kube-controllers-{version}"
    with locked(key):
        if all(path.exists() for path in binaries.values()):
            return binaries
        work = cache_dir() / "build" / key
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        packages = [f"k8s.io/kubernetes/cmd/{name}" for name in KUBE_CONTROLLERS]
        started = time.monotonic()
        say(f"building {', '.join(KUBE_CONTROLLERS)} {version} from k8s.io/kubernetes (~1 min)")
        write_kubernetes_wrapper(work, version, packages)
        run(["go", "mod", "tidy"], cwd=work)
        ldflags = _version_ldflags(version)
        run(go_build_command(out, packages, ldflags=ldflags, tags=KUBERNETES_TAGS), cwd=work)
        for name, binary in binaries.items():
            built = out / name
            if not built.exists():
                raise BuildError(f"go build left no {name} in {out}")
            binary.parent.mkdir(parents=True, exist_ok=True)
            built.rename(binary)
        say(f"built {', '.join(map(str, binaries.values()))} in {time.monotonic() - started:.0f}s")
    return binaries


CONTOUR_MODULE = "github.com/projectcontour/contour"
CONTOUR_CRDS = "01-crds.yaml"


def contour_go_mod() -> str:
    """go.mod of the empty module `go get` adds Contour to (Contour needs no replace lines)."""
    return "module canary.local/contour\n\ngo 1.26.0\n"


def contour_ldflags(version: str) -> str:
    return f"-s -w -X {CONTOUR_MODULE}/internal/build.Version={version}"


def ensure_contour(version: str = versions.CONTOUR_VERSION) -> Path:
    """Path to a `contour` binary of `version`, built on first use; its CRDs (see
    `contour_crds`) are copied next to it first, so a cached binary always has them."""

    def build(binary: Path, work: Path) -> None:
        (work / "go.mod").write_text(contour_go_mod())
        source = go_module_dir(CONTOUR_MODULE, version)
        crds = source / "examples" / "contour" / CONTOUR_CRDS
        if not crds.exists():
            raise BuildError(f"no {CONTOUR_CRDS} in {CONTOUR_MODULE}@{version}")
        shutil.copyfile(crds, binary.parent / CONTOUR_CRDS)
        # Get the package path, not the module: only that records every go.sum line it needs.
        package = f"{CONTOUR_MODULE}/cmd/contour"
        run(["go", "get", f"{package}@{version}"], cwd=work)
        tmp = binary.with_suffix(".tmp")
        run(go_build_command(tmp, [package], ldflags=contour_ldflags(version)), cwd=work)
        tmp.rename(binary)

    return ensure_built("contour", version, f"{CONTOUR_MODULE} (first run only, ~3 min)", build)


def contour_crds(version: str = versions.CONTOUR_VERSION) -> Path:
    """Contour's own CRDs (`examples/contour/01-crds.yaml` of its module), from the cache."""
    return ensure_contour(version).parent / CONTOUR_CRDS


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


def servicemonitor_crd(version: str = versions.PROMETHEUS_OPERATOR_VERSION) -> Path:
    """The ServiceMonitor CRD manifest of the pinned Prometheus Operator module."""
    with locked(f"prometheus-operator-{version}"):
        source = go_module_dir("github.com/prometheus-operator/prometheus-operator", version)
    crd = source / "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
    if not crd.is_file():
        raise BuildError(f"no ServiceMonitor CRD at {crd}")
    return crd


def main() -> None:
    """`python -m canary.sandbox.controlplane.build`: build everything, fetch the CRD modules
    the sandbox and the tests apply, and print the paths. The tests run in a network namespace
    with no way out: whatever they need from the module proxy must be fetched here first."""
    for path in [*all_binaries(), *gateway_api_crds(), servicemonitor_crd()]:
        print(path)


def all_binaries() -> list[Path]:
    """Build (or find in the cache) every binary the sandbox runs; their paths."""
    return [
        ensure_etcd(),
        ensure_kube_apiserver(),
        *ensure_kube_controllers().values(),
        ensure_contour(),
        ensure_prometheus(),
    ]


if __name__ == "__main__":
    main()
