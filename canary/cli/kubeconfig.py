"""The connection flags every command shares (`--kubeconfig`, `--context`, `-n`, `-A`) and how
they resolve, the way kubectl resolves them: `-n`, else the context's namespace, else the pod's
own namespace in a cluster, else `default`.

Reads kubeconfig YAML only to learn that namespace; authenticating is `canary.kube`'s job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from canary.cli.exitcodes import CliFailure, ExitCode
from canary.kube.client import Kube

POD_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
FIELD_MANAGER = "canary-cli"

KubeconfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig file. Default: $KUBECONFIG, ~/.kube/config, else the in-cluster "
        "service account.",
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context.", show_default=False)
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Namespace. Default: the context's namespace, else 'default'.",
        show_default=False,
    ),
]
AllNamespacesOpt = Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")]


@dataclass(frozen=True)
class Connection:
    """The connection flags as given."""

    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None

    def default_namespace(self) -> str:
        """The namespace a command acts in when it names one object."""
        return default_namespace(self)

    def open(self) -> AbstractAsyncContextManager[Kube]:
        """A client for the chosen cluster (`async with conn.open() as kube`)."""
        return connect(self)


def kubeconfig_paths(flag: Path | None, env: str | None, home: Path) -> list[Path]:
    """Files to read, in kubectl's precedence: the flag, else `$KUBECONFIG` (a path list),
    else `~/.kube/config`."""
    if flag is not None:
        return [flag]
    if env:
        return [Path(part) for part in env.split(os.pathsep) if part]
    return [home / ".kube" / "config"]


def context_namespace(configs: Sequence[Mapping[str, Any]], context: str | None) -> str | None:
    """The namespace of `context` (else the current context) in merged kubeconfigs.

    Like kubectl's merge, the first file that sets `current-context` or defines a context wins.
    """
    current = (c["current-context"] for c in configs if c.get("current-context"))
    name = context or next(current, None)
    if not name:
        return None
    for config in configs:
        for entry in config.get("contexts") or []:
            if isinstance(entry, Mapping) and entry.get("name") == name:
                namespace = (entry.get("context") or {}).get("namespace")
                return str(namespace) if namespace else None
    return None


def _read_configs(paths: Sequence[Path]) -> list[Mapping[str, Any]]:
    configs: list[Mapping[str, Any]] = []
    for path in paths:
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # connecting reports an unreadable kubeconfig with the real reason
        if isinstance(loaded, Mapping):
            configs.append(loaded)
    return configs


def default_namespace(conn: Connection) -> str:
    """The namespace a command acts in when it names one object."""
    if conn.namespace:
        return conn.namespace
    paths = kubeconfig_paths(conn.kubeconfig, os.environ.get("KUBECONFIG"), Path.home())
    found = context_namespace(_read_configs(paths), conn.context)
    if found:
        return found
    if not any(path.exists() for path in paths) and POD_NAMESPACE_FILE.exists():
        return POD_NAMESPACE_FILE.read_text().strip() or "default"
    return "default"


@asynccontextmanager
async def connect(conn: Connection) -> AsyncIterator[Kube]:
    """A client for the chosen cluster; a kubeconfig that cannot be used ends with ERROR."""
    if conn.kubeconfig is not None and not conn.kubeconfig.is_file():
        raise CliFailure(ExitCode.ERROR, f"--kubeconfig {conn.kubeconfig}: no such file")
    logging.getLogger("kubernetes_asyncio").setLevel(logging.ERROR)  # we explain failures
    try:
        kube = await Kube.connect(
            kubeconfig=conn.kubeconfig, context=conn.context, field_manager=FIELD_MANAGER
        )
    except Exception as exc:  # the client's config errors are foreign types we may not import
        paths = kubeconfig_paths(conn.kubeconfig, os.environ.get("KUBECONFIG"), Path.home())
        if not any(path.is_file() for path in paths):
            where = ", ".join(str(path) for path in paths)
            message = f"no kubeconfig ({where}) and not inside a cluster ({exc})"
        else:
            message = f"cannot use the kubeconfig (context {conn.context or 'current'}): {exc}"
        raise CliFailure(ExitCode.ERROR, message) from exc
    async with kube:
        yield kube
