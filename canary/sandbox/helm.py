"""Build (once) and cache a real `helm` binary from the `helm.sh/helm/v3` Go module.

The chart tests render, lint and install with the real tool, not a re-implementation; like the
control plane, it is compiled through a tiny wrapper module and cached by version. This module
builds and locates the binary only; it never runs a chart.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from canary.sandbox.controlplane import build

HELM_VERSION: Final = "v3.22.0"
_CLIENT_GO_RE = re.compile(r"^\s*k8s\.io/client-go\s+v0\.(\d+)\.\d+", re.MULTILINE)


def kube_version_of(helm_go_mod: str) -> tuple[str, str]:
    """The Kubernetes (major, minor) helm assumes offline: its client-go minor, as its Makefile
    stamps it. Without the stamp `helm template` would pretend the cluster is 1.20."""
    found = _CLIENT_GO_RE.search(helm_go_mod)
    if found is None:
        raise build.BuildError("no k8s.io/client-go requirement in helm's go.mod")
    return "1", found.group(1)


def helm_ldflags(version: str, kube: tuple[str, str]) -> str:
    major, minor = kube
    flags = [f"-X helm.sh/helm/v3/internal/version.version={version}"]
    for pkg in ("helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"):
        flags += [f"-X {pkg}.k8sVersionMajor={major}", f"-X {pkg}.k8sVersionMinor={minor}"]
    return "-s -w " + " ".join(flags)


def ensure_helm(version: str = HELM_VERSION) -> Path:
    """Path to a `helm` binary of `version`, building it on first use (~2 minutes)."""

    def build_helm(binary: Path, work: Path) -> None:
        source = build.go_module_dir("helm.sh/helm/v3", version)
        kube = kube_version_of((source / "go.mod").read_text())
        (work / "go.mod").write_text(
            f"module canary.local/helm\n\ngo 1.26.0\n\nrequire helm.sh/helm/v3 {version}\n"
        )
        (work / "tools.go").write_text(
            '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n'
        )
        build.build_into(
            binary,
            work=work,
            package="helm.sh/helm/v3/cmd/helm",
            ldflags=helm_ldflags(version, kube),
        )

    return build.ensure_built("helm", version, "helm.sh/helm/v3 (first run only)", build_helm)


def main() -> None:
    """`python -m canary.sandbox.helm`: build helm if needed and print its path."""
    print(ensure_helm())


if __name__ == "__main__":
    main()
