"""Shared fixtures: one real control plane per test run, a fresh namespace per test.

Set `CANARY_TEST_KUBECONFIG=/path/to/kubeconfig` to run the integration tests against an
existing cluster instead (it must have the Gateway API CRDs; our CRDs are applied to it).
If the control plane cannot be built or started, the tests fail: they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from canary.sandbox import netns
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster

# The shared servers (exporter, Prometheus, `kube`): see tests/harness/fixtures.py; real Pods
# (controllers and the node agent, `workloads`): see tests/harness/workloads.py.
pytest_plugins = ["harness.fixtures", "harness.workloads"]

REPO = Path(__file__).resolve().parent.parent
CRD_DIR = REPO / "crds"


def pytest_configure(config: pytest.Config) -> None:
    """Run the whole test session inside the sandbox's own network namespace (see
    canary/sandbox/netns.py): pods get addresses there, and no test traffic can leave it.
    Against an existing cluster (`CANARY_TEST_KUBECONFIG`) the tests stay on the host network."""
    if not os.environ.get("CANARY_TEST_KUBECONFIG"):
        netns.enter()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane | ExistingCluster]:
    existing = os.environ.get("CANARY_TEST_KUBECONFIG")
    if existing:
        cluster = ExistingCluster(Path(existing))
        if any(CRD_DIR.glob("*.yaml")):
            cluster.apply(sorted(CRD_DIR.glob("*.yaml")))
        yield cluster
        return
    with ControlPlane(extra_crd_dirs=[CRD_DIR]) as plane:
        yield plane


@pytest.fixture(scope="session")
async def api_client(
    control_plane: ControlPlane | ExistingCluster,
) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(control_plane.kubeconfig), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
async def namespace(api_client: client.ApiClient) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(api_client)
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    await core.delete_namespace(name)


def _child_processes() -> list[str]:
    """Live direct children of this pytest process (name and pid), zombies excluded."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[1]) == os.getpid():
            found.append(f"{name}[{stat.parent.name}]")
    return found


def _runs_canary(pid: int) -> bool:
    """A Python child that is one of ours (the operator, a Pod's demo app, the load generator),
    not an interpreter helper."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(a == b"canary" or a.startswith(b"canary.") for a in argv)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any server started by the tests is still running."""
    leftovers = [
        p
        for p in _child_processes()
        if not p.startswith(("python", "pytest")) or _runs_canary(int(p.rsplit("[", 1)[1][:-1]))
    ]
    if leftovers:
        print(f"\nprocesses started by the tests are still running: {leftovers}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
