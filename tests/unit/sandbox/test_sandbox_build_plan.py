"""The build plans of the sandbox's Go binaries (Contour with its CRDs; kube-controller-manager
and kube-scheduler in one `go build`) and where the cache keeps them, with `go` replaced by a
recorder: nothing is downloaded or compiled here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from canary.sandbox import contour
from canary.sandbox.controlplane import build, versions

pytestmark = pytest.mark.unit

KUBERNETES_GO_MOD = """module k8s.io/kubernetes

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


@dataclass
class FakeGo:
    """Stands in for `build.run` and `build.go_module_dir`: records each command and its
    directory, and makes the files a real `go build -o` would."""

    modules: Path
    commands: list[tuple[list[str], Path | None]] = field(default_factory=list)

    def run(self, cmd: list[str], *, cwd: Path | None = None, env: object = None) -> str:
        self.commands.append((cmd, cwd))
        if cmd[:2] == ["go", "build"]:
            output = Path(cmd[cmd.index("-o") + 1])
            packages = [arg for arg in cmd[cmd.index("-ldflags") + 2 :] if "/" in arg]
            if output.is_dir():
                for package in packages:
                    (output / package.rsplit("/", 1)[-1]).write_text("binary")
            else:
                output.write_text("binary")
        return ""

    def module_dir(self, module: str, version: str) -> Path:
        source = self.modules / f"{module}@{version}"
        (source / "examples" / "contour").mkdir(parents=True, exist_ok=True)
        (source / "examples" / "contour" / build.CONTOUR_CRDS).write_text("kind: CRD\n")
        (source / "go.mod").write_text(KUBERNETES_GO_MOD)
        return source

    def go_commands(self, verb: str) -> list[list[str]]:
        return [cmd for cmd, _ in self.commands if cmd[1] == verb]


@pytest.fixture
def go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGo]:
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path / "cache"))
    fake = FakeGo(tmp_path / "modules")
    monkeypatch.setattr(build, "run", fake.run)
    monkeypatch.setattr(build, "go_module_dir", fake.module_dir)
    yield fake


def test_contour_is_got_by_its_package_path_and_built_with_its_version_stamped(
    go: FakeGo,
) -> None:
    binary = build.ensure_contour()

    version = versions.CONTOUR_VERSION
    assert binary == build.cache_dir() / "bin" / f"contour-{version}" / "contour"
    assert binary.read_text() == "binary"
    package = "github.com/projectcontour/contour/cmd/contour"
    assert go.go_commands("get") == [["go", "get", f"{package}@{version}"]]
    [build_cmd] = go.go_commands("build")
    assert build_cmd[-1] == package
    assert (
        f"github.com/projectcontour/contour/internal/build.Version={version}"
        in (build_cmd[build_cmd.index("-ldflags") + 1])
    )
    work = build.cache_dir() / "build" / f"contour-{version}"
    assert all(cwd == work for _, cwd in go.commands)
    assert (work / "go.mod").read_text().startswith("module canary.local/contour\n")


def test_contours_crds_are_cached_beside_its_binary_and_nothing_is_built_twice(
    go: FakeGo,
) -> None:
    crds = build.contour_crds()
    assert crds == build.ensure_contour().parent / "01-crds.yaml"
    assert crds.read_text() == "kind: CRD\n"
    assert len(go.go_commands("build")) == 1


def test_the_controller_manager_and_scheduler_come_from_one_build_of_the_apiservers_release(
    go: FakeGo,
) -> None:
    binaries = build.ensure_kube_controllers()

    version = versions.KUBERNETES_VERSION
    assert binaries == {
        name: build.cache_dir() / "bin" / f"{name}-{version}" / name
        for name in ("kube-controller-manager", "kube-scheduler")
    }
    assert all(path.read_text() == "binary" for path in binaries.values())
    assert go.commands[0][0] == ["go", "mod", "tidy"]
    [build_cmd] = go.go_commands("build")
    assert build_cmd[-2:] == [
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
    ]
    assert build_cmd[build_cmd.index("-tags") + 1] == build.KUBERNETES_TAGS
    assert (
        f"k8s.io/component-base/version.gitVersion={version}"
        in (build_cmd[build_cmd.index("-ldflags") + 1])
    )
    work = build.cache_dir() / "build" / f"kube-controllers-{version}"
    go_mod = (work / "go.mod").read_text()
    assert f"require k8s.io/kubernetes {version}" in go_mod
    assert "k8s.io/client-go => k8s.io/client-go v0.36.3" in go_mod
    tools = (work / "tools.go").read_text()
    assert '_ "k8s.io/kubernetes/cmd/kube-scheduler"' in tools

    assert build.ensure_kube_controllers() == binaries
    assert len(go.go_commands("build")) == 1


def test_contour_serves_on_loopback_with_the_kinds_the_crds_no_longer_serve_disabled(
    tmp_path: Path,
) -> None:
    ports = contour.Ports(xds=1, metrics=2, health=3, debug=4, envoy_stats=5)
    cmd = contour.serve_command(Path("/c"), tmp_path / "kc", tmp_path / "cfg", ports)
    assert cmd[:2] == ["/c", "serve"]
    for flag in (
        "--xds-address=127.0.0.1",
        "--xds-port=1",
        "--insecure",
        "--http-port=2",
        "--health-address=127.0.0.1",
        "--health-port=3",
        "--debug-http-port=4",
        "--stats-address=127.0.0.1",
        "--stats-port=5",
        "--envoy-service-http-address=127.0.0.1",
        "--disable-leader-election",
        "--disable-feature=tlsroutes",
        "--disable-feature=tcproutes",
        "--disable-feature=backendtlspolicies",
    ):
        assert flag in cmd
    assert contour.contour_config(contour.GatewayRef("ns", "gw")) == {
        "gateway": {"gatewayRef": {"namespace": "ns", "name": "gw"}}
    }
    boot = contour.bootstrap_command(
        Path("/c"), tmp_path / "b.json", ports, admin_socket=Path("/a.sock"), resources=tmp_path
    )
    assert boot[:3] == ["/c", "bootstrap", str(tmp_path / "b.json")]
    assert {"--xds-port=1", "--admin-address=/a.sock", f"--resources-dir={tmp_path}"} <= set(boot)
