"""Fixtures for the end-to-end tests: the demo's whole world in workload mode (Contour and its
Envoy, the Deployment `app` whose Pods the node agent runs, the operator's primary copy of it,
Prometheus, steady load, the operator as a process with `--workloads`) on the session's control
plane and its controllers (`workloads`), under names of its own so other tests never see it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from canary.sandbox.contour import free_listener_port
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.prometheus import PrometheusServer

# Long enough that 1,000 requests are sent and judged well inside each step (they take 1-2 s);
# the test still proves for every sample that the step did not change under it.
STEP_SECONDS = 8
# The errors comparison is looked at every LOOK_SECONDS (the demo: 2 s). The 1,000 requests sent
# at story 2's 10 % step give v3 about 100 requests, 30 % of them failing, in 1-2 s: enough for
# conclusive harm at the first look that sees them. Looking first 4-5 s into the step (looks count
# from the step's start, in whole seconds) lets that sample finish on the weights it measures, and
# still rolls v3 back before the step's check at 8 s when Prometheus counted the sample.
LOOK_SECONDS = 5
# Workload mode: how long a new pod template may take to be ready (a demo Pod takes 2-5 s).
PROGRESS_DEADLINE = 30


@pytest.fixture
def settings() -> DemoSettings:
    suffix = uuid.uuid4().hex[:8]
    return DemoSettings(
        interval=STEP_SECONDS,
        look_every=LOOK_SECONDS,
        workload=True,  # as `canary demo`: each story is one `kubectl set image`
        progress_deadline=PROGRESS_DEADLINE,
    ).but(
        namespace=f"e2e-{suffix}", class_name=f"e2e-{suffix}", listener_port=free_listener_port()
    )


@pytest.fixture
def prometheus(settings: DemoSettings) -> Iterator[PrometheusServer]:
    with PrometheusServer(scrape_interval=f"{settings.scrape_interval}s") as server:
        yield server


@pytest.fixture
async def world(
    control_plane: ControlPlane | ExistingCluster,
    workloads: object,
    prometheus: PrometheusServer,
    settings: DemoSettings,
    tmp_path: Path,
) -> AsyncIterator[DemoWorld]:
    async with DemoWorld(
        control_plane.kubeconfig, prometheus, settings=settings, workdir=tmp_path / "demo"
    ) as running:
        yield running
